// Browser side of the upload page.

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

function parseHttpResponse(text) {
  const [head, body] = text.split("\r\n\r\n");
  const status = Number(head.split(" ")[1]);
  return { status, body };
}

class UploadQueue {
  constructor(limit) {
    this.limit = limit;
    this.items = [];
  }

  push(file) {
    if (this.items.length >= this.limit) {
      throw new Error("the upload queue is full");
    }
    this.items.push(file);
  }
}

export { parseHttpResponse, UploadQueue, DEFAULT_CHUNK_BYTES };
