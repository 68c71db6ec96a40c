/**
 * The icons and web manifest every page links (app/layout.tsx's metadata): files in public/, drawn in
 * public/icon.svg and rendered from it by cli/icon-render.ts.
 */
export const SITE_ICONS = {
  icon: [
    { url: "/favicon.ico", sizes: "16x16 32x32 48x48" },
    { url: "/icon.svg", type: "image/svg+xml" },
  ],
  apple: { url: "/apple-touch-icon.png", sizes: "180x180" },
};

export const SITE_MANIFEST = "/site.webmanifest";
