import { parseMultipart } from './multipart';

describe('parseMultipart', () => {
  it('splits the parts the SDK sends to files/bulk-upload', () => {
    const body = Buffer.from(
      '--XyZ\r\nContent-Disposition: form-data; name="files[0].path"\r\n\r\n/home/daytona/w.js\r\n' +
        '--XyZ\r\nContent-Disposition: form-data; name="files[0].file"; filename="w.js"\r\nContent-Type: application/octet-stream\r\n\r\nline1\r\nline2\r\n' +
        '--XyZ--\r\n',
    );
    const parts = parseMultipart(body, 'multipart/form-data; boundary=XyZ');
    expect(parts.map((part) => [part.name, part.filename, part.content.toString()])).toEqual([
      ['files[0].path', undefined, '/home/daytona/w.js'],
      ['files[0].file', 'w.js', 'line1\r\nline2'],
    ]);
  });

  it('refuses a body that is not multipart', () => {
    expect(() => parseMultipart(Buffer.from('{}'), 'application/json')).toThrow('not multipart');
  });
});
