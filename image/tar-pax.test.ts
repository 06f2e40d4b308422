import { installRawPaxXattrs, parseRawXattrs } from './tar-pax';

function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  // The length counts its own digits.
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length += 1;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

describe('parseRawXattrs', () => {
  it('keeps the bytes of xattr values and ignores other records', () => {
    const binary = Buffer.from([0x01, 0x80, 0xff, 0x00, 0x0a, 0x3d]);
    const block = Buffer.concat([
      record('path', Buffer.from('a/b')),
      record('SCHILY.xattr.security.capability', binary),
      record('SCHILY.xattr.user.text', Buffer.from('héllo')),
    ]);
    expect(parseRawXattrs(block)).toEqual(
      new Map([
        ['SCHILY.xattr.security.capability', binary],
        ['SCHILY.xattr.user.text', Buffer.from('héllo')],
      ]),
    );
  });

  it('stops at a malformed record', () => {
    expect(parseRawXattrs(Buffer.from('99 SCHILY.xattr.user.x=y\n'))).toEqual(new Map());
    expect(parseRawXattrs(Buffer.from('garbage'))).toEqual(new Map());
  });
});

describe('installRawPaxXattrs', () => {
  it("finds tar-stream's PAX decoder", () => {
    expect(installRawPaxXattrs()).toBe(true);
  });
});
