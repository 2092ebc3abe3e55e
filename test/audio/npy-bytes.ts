/** .npy files built byte by byte from the format's specification (numpy.lib.format), for tests. */

/** An .npy file: version 1 (2-byte header length) or 2 (4-byte), values written as `descr` says. */
export function npyBytes(shape: number[], values: number[], o: { descr?: string; version?: 1 | 2; fortran?: boolean } = {}): Uint8Array {
  const descr = o.descr ?? '<f4';
  const version = o.version ?? 1;
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': ${o.fortran ? 'True' : 'False'}, 'shape': (${dims}), }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat(63 - ((pre + header.length) % 64)) + '\n'; // total a multiple of 64
  const size = descr.endsWith('8') ? 8 : 4;
  const out = new Uint8Array(pre + header.length + values.length * size);
  const view = new DataView(out.buffer);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  const little = !descr.startsWith('>');
  values.forEach((v, i) => {
    const at = pre + header.length + i * size;
    if (descr.includes('i')) view.setInt32(at, v, little);
    else if (size === 4) view.setFloat32(at, v, little);
    else view.setFloat64(at, v, little);
  });
  if ((pre + header.length) % 64 !== 0) throw new Error('npyBytes: header padding is wrong');
  return out;
}
