// (a) CIDs: npm ipfs-unixfs-importer (Kubo-compatible profile, same chunker and CID settings) against
// `scal3ml store add --only-hash -Q` on the same bytes: random sizes from 0 to past 2 x 174 chunks with ragged
// last chunks, both CID versions, random directory trees (one big enough to be HAMT-sharded), and directories
// exactly at and one byte over the HAMT threshold.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { BlackHoleBlockstore } from 'blockstore-core/black-hole'

const bin = process.env.SCAL3ML_BIN
assert.ok(bin, 'set SCAL3ML_BIN to the scal3ml binary')

// A seeded generator so a failure names a case that reproduces.
function rng (seed) {
  let x = BigInt(seed) * 0x9E3779B97F4A7C15n | 1n
  const mask = (1n << 64n) - 1n
  return () => {
    x ^= (x << 13n) & mask; x ^= x >> 7n; x ^= (x << 17n) & mask
    return Number(x & 0xffffffffn) / 0x100000000
  }
}
const bytes = (rand, n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0; return b }

function jsOptions ({ cidVersion, chunk }) {
  return {
    profile: 'unixfs-v0-2015',
    cidVersion,
    rawLeaves: cidVersion === 1,
    chunker: fixedSize({ chunkSize: chunk }),
    blockWriteConcurrency: 1
  }
}

async function jsRoot (entries, settings) {
  let last
  for await (const entry of importer(entries, new BlackHoleBlockstore(), jsOptions(settings))) last = entry
  return last
}
const jsCid = async (entries, settings) => (await jsRoot(entries, settings)).cid.toString()

function ourCid (target, { cidVersion, chunk }, recursive) {
  const args = ['store', 'add', '--only-hash', '-Q', '--no-progress', '--cid-version', String(cidVersion), '--chunker', `size-${chunk}`]
  if (recursive) args.push('-r')
  args.push(target)
  return execFileSync(bin, args, { encoding: 'utf8' }).trim()
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'store-cids-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

test('files: random sizes from 0 to past 2 x 174 chunks, ragged last chunks, CIDv0 and CIDv1', async () => {
  const rand = rng(1)
  const chunk = 1024
  const sizes = [0, 1, chunk - 1, chunk, chunk + 1, 174 * chunk, 174 * chunk + 1, 2 * 174 * chunk, 2 * 174 * chunk + 1]
  for (let i = 0; i < 16; i++) sizes.push(Math.floor(rand() * (2 * 174 + 40) * chunk))
  let compared = 0
  for (const [i, size] of sizes.entries()) {
    const data = bytes(rand, size)
    const file = path.join(tmp, `file-${i}.bin`)
    fs.writeFileSync(file, data)
    for (const cidVersion of [0, 1]) {
      const settings = { cidVersion, chunk }
      const theirs = await jsCid([{ path: 'f', content: data }], settings)
      assert.equal(ourCid(file, settings, false), theirs, `size ${size}, CIDv${cidVersion}, chunk ${chunk}`)
      compared++
    }
  }
  assert.equal(compared, sizes.length * 2)
})

test('files: the default 256 KiB chunker across its first boundaries', async () => {
  const rand = rng(2)
  for (const size of [262143, 262144, 262145, 3 * 262144 + 77]) {
    const data = bytes(rand, size)
    const file = path.join(tmp, `big-${size}.bin`)
    fs.writeFileSync(file, data)
    for (const cidVersion of [0, 1]) {
      const settings = { cidVersion, chunk: 262144 }
      assert.equal(ourCid(file, settings, false), await jsCid([{ path: 'f', content: data }], settings), `size ${size} v${cidVersion}`)
    }
  }
})

// Writes a random tree under `root` and returns importer entries for it (paths relative to root's parent).
function randomTree (rand, root, depth) {
  const entries = []
  const walk = (dir, rel, level) => {
    fs.mkdirSync(dir, { recursive: true })
    entries.push({ path: rel })
    const files = 1 + Math.floor(rand() * 5)
    for (let i = 0; i < files; i++) {
      const name = `f${i}-${Math.floor(rand() * 1e6)}.dat`
      const data = bytes(rand, Math.floor(rand() * 5000))
      fs.writeFileSync(path.join(dir, name), data)
      entries.push({ path: `${rel}/${name}`, content: data })
    }
    if (level < depth) {
      const subdirs = Math.floor(rand() * 3)
      for (let i = 0; i < subdirs; i++) walk(path.join(dir, `d${i}`), `${rel}/d${i}`, level + 1)
    }
  }
  walk(root, path.basename(root), 0)
  return entries
}

test('directories: random trees, CIDv0 and CIDv1', async () => {
  for (let seed = 0; seed < 6; seed++) {
    const rand = rng(100 + seed)
    const root = path.join(tmp, `tree-${seed}`)
    const entries = randomTree(rand, root, 3)
    for (const cidVersion of [0, 1]) {
      const settings = { cidVersion, chunk: 1024 }
      assert.equal(ourCid(root, settings, true), await jsCid(entries, settings), `tree seed ${seed} v${cidVersion}`)
    }
  }
})

test('directories: one past the HAMT threshold is sharded identically', async () => {
  const root = path.join(tmp, 'wide')
  fs.mkdirSync(root)
  const entries = [{ path: 'wide' }]
  for (let i = 0; i < 4500; i++) {
    const name = `entry-${String(i).padStart(5, '0')}-with-a-long-enough-name.txt`
    const data = Buffer.from(`entry ${i}\n`)
    fs.writeFileSync(path.join(root, name), data)
    entries.push({ path: `wide/${name}`, content: data })
  }
  const settings = { cidVersion: 1, chunk: 262144 }
  assert.equal(ourCid(root, settings, true), await jsCid(entries, settings))
})

test('directories: exactly at the HAMT threshold stays flat, one byte over is sharded, as in js', async () => {
  // The estimate is the sum over links of name length plus CID bytes (34 for CIDv0); 1000 entries with names
  // of 228 or 229 bytes put it at exactly 262144 or 262145.
  for (const [estimate, long, kind] of [[262144, 144, 'directory'], [262145, 145, 'hamt-sharded-directory']]) {
    const root = path.join(tmp, `edge-${estimate}`)
    fs.mkdirSync(root)
    const entries = [{ path: path.basename(root) }]
    for (let i = 0; i < 1000; i++) {
      const name = `e${String(i).padStart(4, '0')}-`.padEnd(i < long ? 229 : 228, 'x')
      const data = Buffer.from(`edge ${i}\n`)
      fs.writeFileSync(path.join(root, name), data)
      entries.push({ path: `${path.basename(root)}/${name}`, content: data })
    }
    const total = entries.slice(1).reduce((sum, e) => sum + path.basename(e.path).length + 34, 0)
    assert.equal(total, estimate)
    const settings = { cidVersion: 0, chunk: 262144 }
    const js = await jsRoot(entries, settings)
    assert.equal(js.unixfs.type, kind, `js makes a ${kind} at ${estimate}`)
    assert.equal(ourCid(root, settings, true), js.cid.toString(), `estimate ${estimate}`)
  }
})
