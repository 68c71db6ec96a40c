import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Wan Studio",
  description: "Self-hosted text-to-video studio running Wan 2.1 on your own GPU",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, themeColor: "#111318" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
