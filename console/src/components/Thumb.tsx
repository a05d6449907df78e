import { useEffect, useState } from "react";
import { artifactUrl } from "../api/artifacts";
import { sameOrigin } from "../api/client";

/** An image from a signed link, or a neutral placeholder while there is none (or it fails to load). */
export function SignedImage({ url, alt, className = "thumb" }: { url: string | null | undefined; alt: string; className?: string }) {
  const [failed, setFailed] = useState<string | null>(null);
  return url && failed !== url
    ? <img className={className} src={sameOrigin(url)} alt={alt} loading="lazy" onError={() => setFailed(url)} />
    : <div className={`${className} placeholder`} role="img" aria-label={`${alt} (no image yet)`} />;
}

/** A video's artifact image looked up by name (keyframes); list thumbnails come with the video instead. */
export function Thumb({ videoId, name = "thumb.jpg", stage, alt, ready = true, className = "thumb" }:
  { videoId: string; name?: string; stage?: string; alt: string; ready?: boolean; className?: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    if (ready) artifactUrl(videoId, name, stage).then((u) => live && setSrc(u), () => undefined);
    return () => { live = false; };
  }, [videoId, name, stage, ready]);
  return <SignedImage url={src} alt={alt} className={className} />;
}
