import { unknownApiPath } from "@/lib/http/unrouted";

export const dynamic = "force-dynamic";

export const GET = unknownApiPath;
export const POST = unknownApiPath;
export const PUT = unknownApiPath;
export const PATCH = unknownApiPath;
export const DELETE = unknownApiPath;
