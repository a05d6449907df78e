// Multipart upload with per-file progress. XMLHttpRequest, because fetch reports no upload progress.
import { accessToken } from "./session";
import { toError } from "./client";
import type { Schemas } from "./client";

export type Video = Schemas["VideoPublic"];

export interface UploadHandle { promise: Promise<Video>; abort: () => void }

export function uploadVideo(file: File, onProgress: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const promise = (async () => {
    const token = await accessToken();
    return new Promise<Video>((resolve, reject) => {
      xhr.open("POST", "/api/v1/videos");
      if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        let body: unknown = null;
        try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 201) {
          onProgress(1);
          resolve(body as Video);
        } else reject(toError(xhr.status, body));
      };
      xhr.onerror = () => reject(new Error("The connection dropped during the upload. Try again."));
      xhr.onabort = () => reject(new Error("Upload cancelled."));
      const form = new FormData();
      form.append("title", file.name.replace(/\.[^.]+$/, ""));
      form.append("file", file, file.name);
      xhr.send(form);
    });
  })();
  return { promise, abort: () => xhr.abort() };
}
