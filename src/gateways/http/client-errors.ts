import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AppError, type ErrorCode } from '../../errors.ts';

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a malformed request line,
 * method or Content-Length, headers too large, a request too slow to arrive) are answered
 * on the raw socket; they get the catalogue's `{ error: { code, message } }` too.
 */
function codeOf(err: NodeJS.ErrnoException): { code: ErrorCode; message: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'request_timeout', message: 'The request did not arrive in time' };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { code: 'headers_too_large', message: 'The request line and headers are too large' };
  if (err.code === 'HPE_INVALID_METHOD') return { code: 'malformed_request', message: 'The request method is not valid' };
  if (err.code === 'HPE_INVALID_CONTENT_LENGTH' || err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH') {
    return { code: 'malformed_request', message: 'The Content-Length header is not valid' };
  }
  return { code: 'malformed_request', message: 'The HTTP request could not be parsed' };
}

export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { code, message } = codeOf(err);
  const error = new AppError(code, message);
  this.log.debug({ err: { code: err.code, message: err.message } }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ error: error.toBody() });
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * HTTP/1.1 requires a Host header (RFC 9112 §3.2). Node refuses a request without one with
 * an empty 400 of its own; Parley turns that check off (`requireHostHeader: false`) and
 * makes it here, so the answer has the catalogue's shape.
 */
export function registerHostCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersion === '1.1' && !req.headers.host) throw new AppError('malformed_request', 'An HTTP/1.1 request needs a Host header');
  });
}
