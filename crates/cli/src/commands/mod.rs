//! One module per `scal3ml` subcommand.
