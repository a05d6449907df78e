// Search and answers (issue 5) through the typed client: a change to these routes breaks `tsc`.
import { api, unwrap, type Schemas } from "./client";

export const MODALITIES = ["transcript", "ocr", "tag", "sound", "face", "shot"] as const;
export type Modality = (typeof MODALITIES)[number];

export type SearchHit = Schemas["MomentPublic"];
export type SearchPage = Schemas["MomentPage"];
export type Answer = Schemas["AnswerPublic"];
export type Citation = Schemas["Citation"];
export type Chapter = Schemas["ChapterPublic"];

export interface SearchParams { q: string; modality?: Modality[]; video_id?: string[]; limit?: number; cursor?: string }

export async function search(p: SearchParams, signal?: AbortSignal): Promise<SearchPage> {
  return unwrap(await api.GET("/api/v1/search", { signal, params: { query: {
    q: p.q, limit: p.limit ?? 20, modality: p.modality, video_id: p.video_id, cursor: p.cursor,
  } } }));
}

export async function ask(question: string, videoIds?: string[]): Promise<Answer> {
  return unwrap(await api.POST("/api/v1/ask", { body: { question, scope: videoIds?.length ? { video_ids: videoIds } : null } }));
}

export async function chapters(videoId: string): Promise<{ items: Chapter[] }> {
  return unwrap(await api.GET("/api/v1/videos/{video_id}/chapters", { params: { path: { video_id: videoId } } }));
}
