// Hardhat is only the reference node here: the interop scripts compile with solcjs themselves and deploy
// bytecode, so hardhat never compiles and never downloads a compiler. The chain is set up like the Scal3ML
// devnet's defaults (and anvil's): chain id 31337, the ten accounts of the "test ... junk" mnemonic with 10000 ETH
// each, a 30,000,000 block gas limit and a 1 gwei initial base fee (hardhat's own default gas limit is 60,000,000,
// which changes every EIP-1559 base fee after the first block).
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      blockGasLimit: 30_000_000,
      initialBaseFeePerGas: 1_000_000_000,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 10,
        accountsBalance: "10000000000000000000000",
      },
    },
  },
};
