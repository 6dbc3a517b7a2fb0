import busboy from "busboy";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import { AppError } from "../lib/errors";

/**
 * Streaming multipart/form-data upload (busboy, which follows RFC 7578): the file part reaches the
 * handler as a ReadableStream while it arrives, so an upload is never held whole in memory. Runs on
 * Node and on the Worker (busboy needs node:stream, which workerd provides under nodejs_compat).
 */

const tooLarge = (maxBytes: number) => new AppError(413, "payload_too_large", `The file is too large: at most ${Math.round(maxBytes / 2 ** 20)} MB.`);

/** Passes bytes through and errors with a 413 AppError once more than `maxBytes` went by. */
function capped(maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let size = 0;
  return new TransformStream({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      controller.enqueue(chunk);
    },
  });
}

/**
 * Reads a multipart request whose form has text fields before one file field named `fileField`
 * (a browser sends parts in the form's order), and calls `handle(fields, file)` with the fields
 * seen before the file and the file's bytes as a stream; resolves with what `handle` returns.
 * Bodies beyond `maxBytes` (declared or counted) end in a 413 AppError; a body that is not
 * multipart, or a form without a chosen file, in a 400 AppError; `handle`'s errors pass through.
 */
export function withUploadedFile<T>(
  request: Request,
  fileField: string,
  maxBytes: number,
  handle: (fields: Record<string, string>, file: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<T> {
  const type = request.headers.get("content-type") ?? "";
  if (Number(request.headers.get("content-length") ?? 0) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  if (!request.body || !/^multipart\/form-data/i.test(type)) return Promise.reject(new AppError(400, "invalid_form", "Upload the file with the form."));
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { "content-type": type }, limits: { files: 1, fields: 20, fieldSize: 16 * 1024, parts: 40 } });
  } catch {
    return Promise.reject(new AppError(400, "invalid_form", "The form could not be read."));
  }
  const source = Readable.fromWeb(request.body.pipeThrough(capped(maxBytes)) as NodeWebReadableStream<Uint8Array>);
  return new Promise<T>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Readable | undefined;
    let running: Promise<unknown> | undefined;
    let settled = false;
    // A broken body is the client's fault (400); the handler's own errors pass through unchanged.
    const unreadable = (error: unknown) => fail(error instanceof AppError ? error : new AppError(400, "invalid_form", "The form could not be read."));
    const fail = (reason: unknown) => {
      if (settled) return;
      settled = true;
      // The handler may be waiting on the file: end its stream too, so nothing is left hanging.
      file?.destroy(reason instanceof Error ? reason : undefined);
      source.unpipe(parser);
      source.destroy();
      // Answer once the handler has cleaned up (a half-staged upload is deleted first).
      if (running) void running.catch(() => undefined).finally(() => reject(reason));
      else reject(reason);
    };
    parser.on("field", (name, value) => (fields[name] ??= value));
    parser.on("file", (name, stream, info) => {
      if (name !== fileField || file || info.filename === "") return void stream.resume();
      file = stream;
      const web = Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
      running = handle({ ...fields }, web);
      running.then((value) => {
        if (settled) return;
        settled = true;
        // Any later parts still flow into the parser, which drops them.
        resolve(value as T);
      }, fail);
    });
    parser.on("close", () => {
      if (!file) fail(new AppError(400, "no_file", "Choose a CSV file to upload."));
    });
    parser.on("error", unreadable);
    source.on("error", unreadable);
    source.pipe(parser);
  });
}
