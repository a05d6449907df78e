import { useEffect, useState } from "react";
import { artifactUrl } from "../api/artifacts";

/** A video's artifact image (thumbnail, keyframe), or a neutral placeholder while there is none. */
export function Thumb({ videoId, name = "thumb.jpg", stage, alt, ready = true, className = "thumb" }:
  { videoId: string; name?: string; stage?: string; alt: string; ready?: boolean; className?: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    if (ready) artifactUrl(videoId, name, stage).then((u) => live && setSrc(u), () => undefined);
    return () => { live = false; };
  }, [videoId, name, stage, ready]);
  return src ? <img className={className} src={src} alt={alt} loading="lazy" />
    : <div className={`${className} placeholder`} role="img" aria-label={`${alt} (no image yet)`} />;
}
