/**
 * Reads a request body up to a limit that applies to the decompressed bytes, so a small
 * gzip bomb is stopped once it inflates past the limit instead of filling memory.
 */
import type { Request } from 'express';
import zlib from 'node:zlib';
import { AppError } from '../../infra/errors';

export async function readBody(req: Request, limit: number): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    throw new AppError('unsupported_media_type', `Content-Encoding ${encoding} is not supported; use gzip or none`);
  }
  const declared = Number(req.headers['content-length']);
  if (encoding === 'identity' && Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new AppError('payload_too_large', `body is ${declared} bytes; at most ${limit} bytes allowed`);
  }
  const source: NodeJS.ReadableStream = encoding === 'gzip' ? req.pipe(zlib.createGunzip()) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise<Buffer>((resolve, reject) => {
    const fail = (err: AppError) => {
      source.removeAllListeners('data');
      if (source !== req) (source as zlib.Gunzip).destroy();
      req.resume(); // drain the rest so the connection can be reused
      reject(err);
    };
    source.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return fail(new AppError('payload_too_large', `body is larger than ${limit} bytes${encoding === 'gzip' ? ' once decompressed' : ''}; at most ${limit} bytes allowed`));
      chunks.push(c);
    });
    source.on('end', () => resolve(Buffer.concat(chunks, size)));
    source.on('error', (err: Error) => fail(new AppError('invalid_body', `body could not be read: ${encoding === 'gzip' ? 'invalid gzip data' : err.message}`)));
    req.on('aborted', () => fail(new AppError('invalid_body', 'request aborted')));
  });
}
