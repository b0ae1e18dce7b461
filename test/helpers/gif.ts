/** A 1×1 GIF89a (43 bytes): GStreamer's decodebin takes it but never reaches end of stream on it. */
export const TINY_GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
