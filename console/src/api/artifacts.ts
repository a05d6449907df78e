// Signed links to a video's artifacts (thumbnails, keyframes), cached a little under their lifetime.
import { api, sameOrigin, unwrap, type Schemas } from "./client";

type Artifact = Schemas["ArtifactPublic"];
const lists = new Map<string, { at: number; items: Promise<Artifact[]> }>();
const links = new Map<string, { at: number; url: Promise<string | null> }>();
const TTL_MS = 4 * 60_000;

export function artifacts(videoId: string, fresh = false): Promise<Artifact[]> {
  const hit = lists.get(videoId);
  if (hit && !fresh && Date.now() - hit.at < TTL_MS) return hit.items;
  const items = api.GET("/api/v1/videos/{video_id}/artifacts", { params: { path: { video_id: videoId } } }).then(unwrap);
  lists.set(videoId, { at: Date.now(), items });
  items.catch(() => lists.delete(videoId));
  return items;
}

/** Signed same-origin URL of the artifact called `name` (first match, preferring `stage`), or null. */
export async function artifactUrl(videoId: string, name: string, stage?: string): Promise<string | null> {
  const key = `${videoId}/${stage ?? ""}/${name}`;
  const hit = links.get(key);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.url;
  const url = artifacts(videoId).then(async (items) => {
    const a = items.find((x) => x.name === name && (!stage || x.stage === stage)) ?? items.find((x) => x.name === name);
    if (!a) return null;
    const r = await api.GET("/api/v1/videos/{video_id}/artifacts/{artifact_id}/download",
      { params: { path: { video_id: videoId, artifact_id: a.id } } });
    return sameOrigin(unwrap(r).url);
  });
  links.set(key, { at: Date.now(), url });
  url.catch(() => links.delete(key));
  return url;
}

export function forget(videoId: string): void {
  lists.delete(videoId);
  for (const k of links.keys()) if (k.startsWith(`${videoId}/`)) links.delete(k);
}
