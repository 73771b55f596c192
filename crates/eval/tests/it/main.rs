//! crates/eval against references no one here wrote: scikit-learn models exported by skl2onnx, onnxruntime's
//! outputs and sklearn.metrics' figures (fixtures/make.py made them; they are committed).

mod common;
mod errors;
mod references;
