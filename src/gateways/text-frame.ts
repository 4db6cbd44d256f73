/**
 * One unmasked, final text frame (RFC 6455 §5.2), header and payload in one buffer: what a
 * server writes for a message when no extension is negotiated. An event going to many
 * sockets is framed once and the same bytes are written to each, one write per socket,
 * where `ws.send` would frame it again for every socket and write header and payload as
 * two pieces.
 */
export function textFrame(text: string): Buffer {
  const n = Buffer.byteLength(text);
  const header = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + n);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (n < 126) frame[1] = n;
  else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  frame.write(text, header);
  return frame;
}
