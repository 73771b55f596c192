// Prepares a js-ipfs repo for an offline loopback daemon: API and gateway on port 0 of 127.0.0.1, no swarm
// listeners (libp2p in js-ipfs 0.66 fails to start on loopback TCP listeners), no bootstrap, no discovery.
import fs from 'node:fs'

const file = `${process.env.IPFS_PATH}/config`
const config = JSON.parse(fs.readFileSync(file, 'utf8'))
config.Addresses.Swarm = []
config.Addresses.API = '/ip4/127.0.0.1/tcp/0'
config.Addresses.Gateway = '/ip4/127.0.0.1/tcp/0'
config.Addresses.RPC = '/ip4/127.0.0.1/tcp/0'
config.Bootstrap = []
config.Discovery = { MDNS: { Enabled: false }, webRTCStar: { Enabled: false } }
fs.writeFileSync(file, JSON.stringify(config, null, 2))
