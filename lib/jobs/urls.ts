/** The API paths of a job's and an upload's files: one place, used by the job JSON and the events. */
export const jobVideoUrl = (jobId: string) => `/api/jobs/${jobId}/video`;
/** The joined video of a chain up to this part (continue a clip). */
export const jobChainUrl = (jobId: string) => `/api/jobs/${jobId}/chain`;
export const jobPosterUrl = (jobId: string) => `/api/jobs/${jobId}/poster`;
/** The step in the query makes each new preview a new URL, so an <img> reloads it. */
export const jobPreviewUrl = (jobId: string, step: number) => `/api/jobs/${jobId}/preview?step=${step}`;
export const uploadFileUrl = (uploadId: string) => `/api/uploads/${uploadId}/file`;
export const uploadThumbnailUrl = (uploadId: string) => `/api/uploads/${uploadId}/thumbnail`;
