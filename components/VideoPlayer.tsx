"use client";
import { useEffect, useRef } from "react";

type Props = {
  src: string;
  poster?: string | null;
  /** Reports the decoded size, which for image to video differs from the requested pixel budget. */
  onSize?: (size: { width: number; height: number }) => void;
};

/**
 * The finished video with the browser's own controls. The MP4 is served with Range support, so seeking
 * jumps without downloading the whole file. It starts muted and loops, like a preview, and plays inline
 * on phones.
 */
export function VideoPlayer({ src, poster, onSize }: Props) {
  const ref = useRef<HTMLVideoElement>(null);
  const onSizeRef = useRef(onSize);
  useEffect(() => {
    onSizeRef.current = onSize;
  });

  // The server-rendered element may have read its metadata before hydration attached any handler.
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    const report = () => {
      if (video.videoWidth > 0) onSizeRef.current?.({ width: video.videoWidth, height: video.videoHeight });
    };
    if (video.readyState >= 1) report();
    video.addEventListener("loadedmetadata", report);
    return () => video.removeEventListener("loadedmetadata", report);
  }, [src]);

  return (
    <video
      ref={ref}
      className="player"
      src={src}
      poster={poster ?? undefined}
      controls
      autoPlay
      muted
      loop
      playsInline
      preload="metadata"
      data-testid="video-player"
    />
  );
}
