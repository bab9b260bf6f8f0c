export interface MultipartPart {
  name: string;
  filename?: string;
  content: Buffer;
}

/**
 * Just enough multipart/form-data parsing for the SDK's `files/bulk-upload` body (form-data
 * package: `files[i].path` text fields and `files[i].file` file parts).
 */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartPart[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!boundary) throw new Error(`not multipart: ${contentType}`);
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: MultipartPart[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    // "--" right after a delimiter closes the body.
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) break;
    // Each part is "\r\n<headers>\r\n\r\n<content>\r\n" between two delimiters.
    const part = body.subarray(afterDelimiter + 2, next - 2);
    parts.push(parsePart(part));
    start = next;
  }
  return parts;
}

function parsePart(part: Buffer): MultipartPart {
  const headerEnd = part.indexOf('\r\n\r\n');
  const headers = part.subarray(0, headerEnd).toString('utf8');
  const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
  const name = /\bname="([^"]*)"/.exec(disposition)?.[1] ?? '';
  const filename = /\bfilename="([^"]*)"/.exec(disposition)?.[1];
  return { name, filename, content: part.subarray(headerEnd + 4) };
}
