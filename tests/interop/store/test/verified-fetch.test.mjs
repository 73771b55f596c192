// (b) @helia/verified-fetch, a client no one here wrote, fetches files from our trustless gateway (the
// `gateway` example of scal3ml-store serving imported files on 127.0.0.1) and must get the same bytes back. It
// verifies every block itself, so a wrong block from us fails the fetch.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { createHeliaLight } from 'helia'
import { withHTTP } from '@helia/http'
import { createVerifiedFetchWithHelia } from '@helia/verified-fetch'
import { fallbackRouter } from '@helia/fallback-router'

const gatewayBin = process.env.STORE_GATEWAY_BIN
assert.ok(gatewayBin, 'set STORE_GATEWAY_BIN to the scal3ml-store gateway example binary')

function noise (n, seed) {
  const out = Buffer.alloc(n)
  let x = seed * 2654435761 >>> 0 || 1
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x & 0xff }
  return out
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'store-vf-'))
const files = {
  'empty.bin': Buffer.alloc(0),
  'small.txt': Buffer.from('hello from the scal3ml trustless gateway\n'),
  'one-chunk.bin': noise(200_000, 1),
  'multi-level.bin': noise(2 * 174 * 1024 + 4321, 2)
}
for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), data)
fs.mkdirSync(path.join(tmp, 'dir/sub'), { recursive: true })
fs.writeFileSync(path.join(tmp, 'dir/sub/inner.bin'), noise(70_000, 3))

let child
let info
test.before(async () => {
  const args = ['--chunk-size', '1024', ...Object.keys(files).map(n => path.join(tmp, n)), path.join(tmp, 'dir')]
  child = spawn(gatewayBin, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: child.stdout })
  info = await new Promise((resolve, reject) => {
    lines.once('line', line => resolve(JSON.parse(line)))
    child.once('exit', code => reject(new Error(`gateway exited with ${code}`)))
  })
})
test.after(() => { child?.kill(); fs.rmSync(tmp, { recursive: true, force: true }) })

async function makeFetch () {
  // Only our gateway: no delegated routers, no public gateways, no libp2p. Our gateway is given as an ordinary
  // router (a fallback router that is not marked fallback): helia 7 never reaches fallback routers when there
  // is no other router.
  const helia = withHTTP(createHeliaLight({}), {
    delegatedRouters: [],
    recursiveGateways: [],
    allowInsecure: true,
    allowLocal: true
  })
  const ours = fallbackRouter({ gateways: [info.url], shuffle: false })
  ours.capabilities = () => []
  helia.routing.routers.push(ours)
  await helia.start()
  const vfetch = await createVerifiedFetchWithHelia(helia)
  return { vfetch, helia }
}

const sha = b => createHash('sha256').update(b).digest('hex')

test('verified-fetch gets every file back byte for byte', async () => {
  const { vfetch, helia } = await makeFetch()
  try {
    for (const [name, data] of Object.entries(files)) {
      const entry = info.entries.find(e => e.path.endsWith(`/${name}`))
      const response = await vfetch(`ipfs://${entry.cid}`, { signal: AbortSignal.timeout(30_000) })
      assert.equal(response.status, 200, `${name}: status ${response.status}`)
      const body = Buffer.from(await response.arrayBuffer())
      assert.equal(body.length, data.length, `${name}: length`)
      assert.equal(sha(body), sha(data), `${name}: bytes`)
    }
  } finally {
    await helia.stop()
  }
})

test('verified-fetch resolves a path inside a directory', async () => {
  const { vfetch, helia } = await makeFetch()
  try {
    const dir = info.entries.find(e => e.path.endsWith('/dir'))
    const response = await vfetch(`ipfs://${dir.cid}/sub/inner.bin`, { signal: AbortSignal.timeout(30_000) })
    assert.equal(response.status, 200)
    assert.equal(sha(Buffer.from(await response.arrayBuffer())), sha(noise(70_000, 3)))
  } finally {
    await helia.stop()
  }
})

test('verified-fetch asks our gateway for a raw block and gets a verifiable one', async () => {
  const { vfetch, helia } = await makeFetch()
  try {
    const entry = info.entries.find(e => e.path.endsWith('/small.txt'))
    const response = await vfetch(`ipfs://${entry.cid}`, { headers: { accept: 'application/vnd.ipld.raw' }, signal: AbortSignal.timeout(30_000) })
    assert.equal(response.status, 200)
    assert.equal(Buffer.from(await response.arrayBuffer()).toString(), files['small.txt'].toString())
  } finally {
    await helia.stop()
  }
})
