import net from 'node:net';

export interface RawRequest {
  method: string;
  /** Sent byte for byte (latin1): may hold what a well-behaved client would never send. */
  path: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * One HTTP/1.1 request written to a plain TCP socket, so a fuzzer can send what fetch and
 * http.request refuse to (control bytes in the path, odd header values, bodies in any encoding).
 * Content-Length is always right and the connection closes after the answer. Status 0 means the
 * server closed the connection without any answer.
 */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : (request.body ?? Buffer.alloc(0));
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [name, value] of request.headers ?? []) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${body.length}`, 'Connection: close', '', '');
  const head = Buffer.from(lines.join('\r\n'), 'latin1');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${request.method} ${JSON.stringify(request.path)}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const headers = (split === -1 ? raw : raw.subarray(0, split)).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1] ?? 0);
      resolve({
        status,
        headers,
        body: split === -1 ? '' : decodeChunked(headers, raw.subarray(split + 4)).toString('utf8'),
      });
    });
    socket.write(Buffer.concat([head, body]));
  });
}

function decodeChunked(headers: string, body: Buffer): Buffer {
  if (!/transfer-encoding:\s*chunked/i.test(headers)) return body;
  const parts: Buffer[] = [];
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line === -1) break;
    const size = parseInt(rest.subarray(0, line).toString('latin1'), 16);
    if (!size) break;
    parts.push(rest.subarray(line + 2, line + 2 + size));
    rest = rest.subarray(line + 2 + size + 2);
  }
  return Buffer.concat(parts);
}

/** A masked client text frame (RFC 6455 §5.2) for payloads under 126 bytes. */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 126) throw new Error('clientTextFrame: payload too long for a one-byte length');
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/**
 * A WebSocket client that writes its first frames in the same packet as its upgrade request, before
 * the server has answered (as a fast client on a slow server effectively does): the server must not
 * lose them while it is still admitting the socket. Resolves with the first `count` text frames the
 * server sent after its 101.
 */
export function eagerWebSocket(
  port: number,
  path: string,
  frames: string[],
  count: number,
  timeoutMs = 10_000,
): Promise<string[]> {
  const upgrade = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const texts: string[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `eagerWebSocket: ${texts.length} of ${count} frames within ${timeoutMs} ms: ${JSON.stringify(texts)}`,
        ),
      );
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(texts.slice(0, count));
    };
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = buffer.subarray(0, end).toString('latin1').split('\r\n')[0]!;
        if (!status.includes(' 101 ')) return reject(new Error(`eagerWebSocket: no upgrade: ${status}`));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
      }
      // Server frames are unmasked; the tests' answers are small text frames.
      while (buffer.length >= 2) {
        const opcode = buffer[0]! & 0x0f;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        }
        if (buffer.length < offset + length) return;
        if (opcode === 0x1) texts.push(buffer.subarray(offset, offset + length).toString('utf8'));
        buffer = buffer.subarray(offset + length);
        if (texts.length >= count) return done();
      }
    });
    socket.write(Buffer.concat([Buffer.from(upgrade, 'latin1'), ...frames.map(clientTextFrame)]));
  });
}
