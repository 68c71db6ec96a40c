"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { NotifyToggle } from "./NotifyToggle";

const LINKS = [
  { href: "/", label: "Text to video", short: "Text" },
  { href: "/image", label: "Image to video", short: "Image" },
  { href: "/gallery", label: "Gallery", short: "Gallery" },
  { href: "/models", label: "Models", short: "Models" },
  // Five pills and the bell do not fit a 360 px phone: there the Workers page is reached from the queue panel.
  { href: "/workers", label: "Workers", short: "Workers", wideOnly: true },
];

/** The top bar: brand, the places (the current one marked for screen readers too) and the notification bell. */
export function NavBar() {
  const pathname = usePathname();
  const current = (href: string) => (href === "/" ? pathname === "/" : pathname.startsWith(href));
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link href="/" className="brand" aria-label="Wan Studio home">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
            <defs>
              <linearGradient id="brand-gradient" x1="0" y1="0" x2="1" y2="1">
                <stop offset="0" stopColor="#7c93ff" />
                <stop offset="0.5" stopColor="#b07cff" />
                <stop offset="1" stopColor="#ffc46b" />
              </linearGradient>
            </defs>
            <rect width="32" height="32" rx="9" fill="url(#brand-gradient)" />
            <rect x="7" y="7" width="18" height="18" rx="4" fill="#0e1014" opacity="0.55" />
            <path d="M13 11.5v9l7.5-4.5z" fill="#fff" />
          </svg>
          <span className="brand-name">Wan Studio</span>
        </Link>
        <nav aria-label="Main" className="nav">
          {LINKS.map((l) => (
            <Link
              key={l.href}
              href={l.href}
              className={"wideOnly" in l ? "nav-link nav-link-wide" : "nav-link"}
              aria-current={current(l.href) ? "page" : undefined}
            >
              <span className="nav-long">{l.label}</span>
              <span className="nav-short">{l.short}</span>
            </Link>
          ))}
        </nav>
        <NotifyToggle />
      </div>
    </header>
  );
}
