import { readForm } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { StudioError } from "@/lib/errors";
import { UPLOAD_FORM_OVERHEAD, UPLOAD_LIMITS } from "@/lib/jobs/limits";
import { intakeUpload } from "@/lib/jobs/uploads";
import { studio } from "@/lib/server/studio";

export const dynamic = "force-dynamic";

export const POST = handle(async (request: Request) => {
  const form = await readForm(request, UPLOAD_LIMITS.maxBytes + UPLOAD_FORM_OVERHEAD);
  const file = form.get("file");
  if (!file || typeof file === "string") throw new StudioError("invalid_request", 'send the file in the form field "file"', "file");
  const upload = await intakeUpload(studio(), { data: new Uint8Array(await file.arrayBuffer()), name: file.name });
  return Response.json(upload, { status: 201, headers: { Location: `/api/uploads/${upload.id}` } });
});
