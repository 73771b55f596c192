// (d) Our Kubo RPC client against a real implementation of the Kubo RPC API: npm `ipfs` 0.66 (js-ipfs) started
// offline on 127.0.0.1. On Node 20 it needs a Promise.withResolvers polyfill (jsipfs-polyfill.mjs) and no swarm
// listeners (jsipfs-config.mjs). The checks themselves are in crates/store/examples/kubo_interop.rs: add (CIDs
// equal to our importer's for the same settings), cat, block get/put/stat/rm, dag import, pin add, id.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

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
