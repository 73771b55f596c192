// (d) Our Kubo RPC client against a real implementation of the Kubo RPC API: npm `ipfs` 0.66 (js-ipfs) started
// offline on 127.0.0.1. On Node 20 it needs a Promise.withResolvers polyfill (jsipfs-polyfill.mjs) and no swarm
// listeners (jsipfs-config.mjs). The checks themselves are in crates/store/examples/kubo_interop.rs: add (CIDs
// equal to our importer's for the same settings), cat, block get/put/stat/rm, dag import, pin add, id.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..')
const interopBin = process.env.STORE_KUBO_INTEROP_BIN
assert.ok(interopBin, 'set STORE_KUBO_INTEROP_BIN to the scal3ml-store kubo_interop example binary')

const cli = path.join(root, 'node_modules/ipfs/src/cli.js')
const polyfill = path.join(root, 'jsipfs-polyfill.mjs')
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'jsipfs-'))
const env = { ...process.env, IPFS_PATH: repo }
let daemon

test.before(async () => {
  execFileSync(process.execPath, ['--import', polyfill, cli, 'init', '--profile', 'test'], { env, stdio: 'ignore' })
  execFileSync(process.execPath, [path.join(root, 'jsipfs-config.mjs')], { env })
  daemon = spawn(process.execPath, ['--import', polyfill, cli, 'daemon', '--offline'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  daemon.stderr.on('data', d => { log += d })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`js-ipfs did not start in 90 s:\n${log}`)), 90_000)
    daemon.stdout.on('data', d => {
      log += d
      if (log.includes('Daemon is ready')) { clearTimeout(timer); resolve() }
    })
    daemon.once('exit', code => { clearTimeout(timer); reject(new Error(`js-ipfs exited with ${code}:\n${log}`)) })
  })
  const api = log.match(/HTTP API listening on \/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/http/)
  assert.ok(api, `no API address in:\n${log}`)
  process.env.KUBO_API = `http://127.0.0.1:${api[1]}`
})

test.after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGINT')
    await new Promise(resolve => { daemon.once('exit', resolve); setTimeout(resolve, 10_000) })
  }
  fs.rmSync(repo, { recursive: true, force: true })
})

test('our Kubo RPC client passes every check against js-ipfs', () => {
  const out = execFileSync(interopBin, [process.env.KUBO_API], { encoding: 'utf8', timeout: 240_000 })
  const summary = out.trim().split('\n').at(-1)
  const match = summary.match(/^kubo interop: (\d+) passed, 0 failed$/)
  assert.ok(match, `unexpected output: ${out}`)
  assert.ok(Number(match[1]) >= 30, summary)
})

// A node started with --ipfs-api copies every published upload to the IPFS node and pins it there: what
// `scal3ml publish` uploads, and each signed comment, is then held by js-ipfs, byte for byte.
test('scal3ml dev --ipfs-api pins what is published on the IPFS node', async () => {
  const bin = process.env.SCAL3ML_BIN
  assert.ok(bin, 'set SCAL3ML_BIN to the scal3ml binary')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scal3ml-kubo-'))
  const node = spawn(bin, ['dev', '--data-dir', path.join(dir, 'node'), '--port', '0', '--rpc-port', '0',
    '--ipfs-api', process.env.KUBO_API], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const url = await new Promise((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`scal3ml dev did not start:\n${out}`)), 60_000)
      node.stdout.on('data', d => {
        out += d
        const m = out.match(/Listening on (\S+)/)
        if (m) { clearTimeout(timer); resolve(`http://${m[1]}`) }
      })
      node.once('exit', code => { clearTimeout(timer); reject(new Error(`scal3ml dev exited with ${code}:\n${out}`)) })
    })
    const file = path.join(dir, 'table.csv')
    const bytes = Buffer.from(Array.from({ length: 600_000 }, (_, i) => (i * 7919) % 251))
    fs.writeFileSync(file, bytes)
    const published = JSON.parse(execFileSync(bin, ['publish', file, '--kind', 'dataset', '--name', 'Pinned table',
      '--license', 'CC0-1.0', '--dev-account', '0', '--json'], { env: { ...process.env, SCAL3ML_NODE: url }, encoding: 'utf8' }))
    const api = process.env.KUBO_API
    for (const cid of [published.content_cid, published.metadata_cid]) {
      // js-ipfs answers an error for a CID it does not pin, and names the pin in its own base (base58btc).
      // The node hands an upload on once the catalog sees the event naming it (its sweep runs every few seconds).
      let res, pins
      for (let i = 0; i < 60; i++) {
        res = await fetch(`${api}/api/v0/pin/ls?arg=${cid}&type=recursive`, { method: 'POST' })
        pins = await res.json()
        if (res.ok) break
        await new Promise(resolve => setTimeout(resolve, 500))
      }
      assert.ok(res.ok, `js-ipfs does not pin ${cid}: ${JSON.stringify(pins)}`)
      const types = Object.values(pins.Keys ?? {}).map(k => k.Type)
      assert.deepEqual(types, ['recursive'], `js-ipfs pins of ${cid}: ${JSON.stringify(pins)}`)
    }
    const cat = Buffer.from(await (await fetch(`${api}/api/v0/cat?arg=${published.content_cid}`, { method: 'POST' })).arrayBuffer())
    assert.ok(cat.equals(bytes), 'js-ipfs serves the published bytes')
    // A comment is a signed document block: handed on and pinned there too, byte for byte.
    // (Run without blocking the event loop: a blocked loop misses js-ipfs closing its idle keep-alive sockets,
    // and the next fetch on one fails.)
    const comment = JSON.parse((await promisify(execFile)(bin, ['comment', String(published.asset), '--message',
      'Where were these measured?', '--dev-account', '1', '--json'], { env: { ...process.env, SCAL3ML_NODE: url } })).stdout)
    const pinned = await fetch(`${api}/api/v0/pin/ls?arg=${comment.cid}`, { method: 'POST' })
    assert.ok(pinned.ok, `js-ipfs does not pin the comment ${comment.cid}: ${await pinned.text()}`)
    const block = Buffer.from(await (await fetch(`${api}/api/v0/block/get?arg=${comment.cid}`, { method: 'POST' })).arrayBuffer())
    const ours = Buffer.from(await (await fetch(`${url}/ipfs/${comment.cid}?format=raw`)).arrayBuffer())
    assert.ok(block.length > 0 && block.equals(ours), 'js-ipfs holds the comment document the node stored')
    assert.match(block.toString('utf8'), /Where were these measured\?/)
  } finally {
    node.kill('SIGTERM')
    await new Promise(resolve => { node.once('exit', resolve); setTimeout(resolve, 10_000) })
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
