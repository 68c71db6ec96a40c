import type { Metadata } from "next";
import { LoginForm } from "@/components/LoginForm";
import { config } from "@/lib/config";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** Where the proxy sends a browser without a valid session when the studio has a token. */
export default async function LoginPage({ searchParams }: Props) {
  const { next } = await searchParams;
  return (
    <main id="main" className="page login-wrap">
      <LoginForm next={typeof next === "string" ? next : null} tokenRequired={Boolean(config().studioToken)} />
    </main>
  );
}
