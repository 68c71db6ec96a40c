import type { Metadata } from "next";
import { LoginForm } from "@/components/LoginForm";

export const metadata: Metadata = { title: "Sign in" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** Where the proxy sends a browser without a valid session when the studio has a token. */
export default async function LoginPage({ searchParams }: Props) {
  const { next } = await searchParams;
  return (
    <main id="main" className="page login-wrap">
      <LoginForm next={typeof next === "string" ? next : null} />
    </main>
  );
}
