import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { NavBar } from "@/components/NavBar";
import { SITE_ICONS, SITE_MANIFEST } from "@/lib/web/site-icons";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Wan Studio", template: "%s · Wan Studio" },
  description: "Self-hosted text-to-video studio running Wan 2.1 on your own machine",
  icons: SITE_ICONS,
  manifest: SITE_MANIFEST,
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, themeColor: "#0e1014", colorScheme: "dark" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a href="#main" className="skip-link">
          Skip to content
        </a>
        <NavBar />
        {children}
      </body>
    </html>
  );
}
