import { crc32, zipStream, type ZipEntry } from '../../../src/http/zip-stream';
import { readZip } from '../../helpers/read-zip';

const AT = new Date('2030-03-01T12:34:56.000Z');

async function zipOf(entries: ZipEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of zipStream(entries, { modifiedAt: AT })) parts.push(part);
  return Buffer.concat(parts);
}

async function* chunksOf(...parts: Array<string | Uint8Array>) {
  for (const part of parts) yield part;
}

describe('crc32', () => {
  it('matches the check value of CRC-32/ISO-HDLC and continues across pieces', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
    const whole = Buffer.from('the quick brown fox jumps over the lazy dog');
    expect(crc32(whole.subarray(10), crc32(whole.subarray(0, 10)))).toBe(crc32(whole));
  });
});

describe('zipStream', () => {
  it('writes entries that read back byte for byte, from strings, bytes and async chunks', async () => {
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const files = readZip(
      await zipOf([
        { name: 'README.txt', data: ['hello, ', 'world\n'] },
        { name: 'données/é.json', data: chunksOf('{"a":', new Uint8Array([0x31]), '}') },
        { name: 'empty.csv', data: [] },
        { name: 'big.bin', data: chunksOf(big.subarray(0, 100_000), big.subarray(100_000)) },
      ]),
    );
    expect(files.map((f) => [f.name, f.data.toString('latin1')])).toEqual([
      ['README.txt', 'hello, world\n'],
      ['données/é.json', '{"a":1}'],
      ['empty.csv', ''],
      ['big.bin', big.toString('latin1')],
    ]);
    for (const f of files) {
      // Deflate, a data descriptor (bit 3) and UTF-8 names (bit 11).
      expect({ name: f.name, method: f.method, flags: f.flags }).toEqual({
        name: f.name,
        method: 8,
        flags: 0x0808,
      });
    }
  });

  it('writes an empty archive as just the end record', async () => {
    const zip = await zipOf([]);
    expect(zip.length).toBe(22);
    expect(readZip(zip)).toEqual([]);
  });

  it('pulls an entry only when the one before it is written', async () => {
    const order: string[] = [];
    async function* entries(): AsyncGenerator<ZipEntry> {
      order.push('first asked');
      yield { name: 'a.txt', data: chunksOf('a') };
      order.push('second asked');
      yield { name: 'b.txt', data: chunksOf('b') };
    }
    const out = zipStream(entries(), { modifiedAt: AT });
    await out.next();
    expect(order).toEqual(['first asked']);
    for await (const _ of out) order.push('chunk');
    expect(order.indexOf('second asked')).toBeGreaterThan(1);
  });

  it.each([['/etc/passwd'], ['../x'], ['a/../b'], ['a\\b'], [''], ['a//b']])(
    'refuses the entry name %j',
    async (name) => {
      await expect(zipOf([{ name, data: ['x'] }])).rejects.toThrow(/not a safe entry name/);
    },
  );

  it('refuses the same name twice', async () => {
    await expect(
      zipOf([
        { name: 'a.txt', data: ['x'] },
        { name: 'a.txt', data: ['y'] },
      ]),
    ).rejects.toThrow(/there already/);
  });

  it('passes on an entry source that fails', async () => {
    async function* failing() {
      yield 'partial';
      throw new Error('the store went away');
    }
    await expect(zipOf([{ name: 'a.txt', data: failing() }])).rejects.toThrow(
      'the store went away',
    );
  });

  it('stops an entry source when its reader stops early', async () => {
    let stopped = false;
    async function* endless() {
      try {
        for (;;) yield Buffer.alloc(64 * 1024, 1);
      } finally {
        stopped = true;
      }
    }
    const out = zipStream([{ name: 'a.bin', data: endless() }], { modifiedAt: AT });
    await out.next();
    await out.next();
    await out.return(undefined);
    // The compressor's pipeline unwinds on its own turn of the event loop.
    for (let i = 0; i < 100 && !stopped; i++) await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(true);
  });
});
