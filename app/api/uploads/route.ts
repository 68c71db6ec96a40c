import { readForm } from "@/lib/http/body";
import { handle } from "@/lib/http/errors";
import { StudioError } from "@/lib/errors";
import { UPLOAD_FORM_OVERHEAD, UPLOAD_LIMITS } from "@/lib/jobs/limits";
import { intakeUpload } from "@/lib/jobs/uploads";
import { studio } from "@/lib/server/studio";
import { otherMethods } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const POST = handle(async (request: Request) => {
  // The limit allows for the form's framing, but the refusal quotes the file's own limit.
  const form = await readForm(request, UPLOAD_LIMITS.maxBytes + UPLOAD_FORM_OVERHEAD, {
    message: `the file is larger than ${UPLOAD_LIMITS.maxBytes / 1024 / 1024} MB`,
    field: "file",
  });
  const file = form.get("file");
  if (!file || typeof file === "string") throw new StudioError("invalid_request", 'send the file in the form field "file"', "file");
  const upload = await intakeUpload(studio(), { data: new Uint8Array(await file.arrayBuffer()), name: file.name });
  return Response.json(upload, { status: 201, headers: { Location: `/api/uploads/${upload.id}` } });
});

export const { GET, PUT, PATCH, DELETE } = otherMethods("POST");
