/**
 * Lets apache-arrow read the master dataset's compacted files, which ClickHouse writes with
 * ZSTD-compressed buffers (batch-layer/jobs/compact-archive.ts): importing this module
 * registers a ZSTD decoder (fzstd, plain JS) with arrow's compression registry.
 */
import { CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress } from 'fzstd';

compressionRegistry.set(CompressionType.ZSTD, {
  decode: (data: Uint8Array) => {
    const out = decompress(data);
    // arrow views 64-bit columns in place, which needs 8-byte alignment.
    return out.byteOffset % 8 === 0 ? out : out.slice();
  },
});
