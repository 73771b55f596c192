// ipfs-unixfs-importer on one file, for bench/store/run.sh: CIDv1, raw leaves, 256 KiB chunks, 174 links (the
// same settings as `scal3ml store add --cid-version 1`), into a black hole or a blockstore-fs directory.
// Usage: node bench-import.mjs blackhole|fs FILE [FS_DIR]. Prints the root CID.
import fs from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { BlackHoleBlockstore } from 'blockstore-core/black-hole'
import { FsBlockstore } from 'blockstore-fs'

const [mode, file, dir] = process.argv.slice(2)
let blockstore
if (mode === 'blackhole') {
  blockstore = new BlackHoleBlockstore()
} else if (mode === 'fs') {
  blockstore = new FsBlockstore(dir)
  await blockstore.open()
} else {
  throw new Error('usage: node bench-import.mjs blackhole|fs FILE [FS_DIR]')
}
const options = {
  profile: 'unixfs-v0-2015',
  cidVersion: 1,
  rawLeaves: true,
  chunker: fixedSize({ chunkSize: 262144 })
}
let last
for await (const entry of importer([{ path: 'f', content: fs.createReadStream(file) }], blockstore, options)) last = entry
if (mode === 'fs') await blockstore.close()
console.log(last.cid.toString())
