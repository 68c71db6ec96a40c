/**
 * The pixel size of an already uploaded image or clip, read by the browser from the file itself; used
 * when "reuse settings" brings back a job's input, which the job only names by id.
 */
export function probeImage(url: string): Promise<{ width: number; height: number }> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error("the job's image is no longer available"));
    img.src = url;
  });
}

export function probeVideo(url: string): Promise<{ width: number; height: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const video = document.createElement("video");
    video.preload = "metadata";
    video.muted = true;
    video.onloadedmetadata = () => resolve({ width: video.videoWidth, height: video.videoHeight, seconds: video.duration });
    video.onerror = () => reject(new Error("the job's clip is no longer available"));
    video.src = url;
  });
}
