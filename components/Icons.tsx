/**
 * The studio's small icons, drawn inline: emoji and symbol characters depend on the fonts a machine has
 * (without an emoji font they show as empty boxes), an SVG path does not. Each takes the text colour and
 * is hidden from screen readers; the control it sits in carries the name.
 */
type IconProps = { size?: number };

function Svg({ size = 18, children }: IconProps & { children: React.ReactNode }) {
  return (
    <svg viewBox="0 0 20 20" width={size} height={size} aria-hidden="true" focusable="false" className="icon">
      {children}
    </svg>
  );
}

const stroke = { fill: "none", stroke: "currentColor", strokeWidth: 1.6, strokeLinecap: "round", strokeLinejoin: "round" } as const;

/** A die: draw a random seed. */
export function DiceIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <rect x="3" y="3" width="14" height="14" rx="3" {...stroke} />
      <circle cx="7" cy="7" r="1.3" fill="currentColor" />
      <circle cx="13" cy="7" r="1.3" fill="currentColor" />
      <circle cx="10" cy="10" r="1.3" fill="currentColor" />
      <circle cx="7" cy="13" r="1.3" fill="currentColor" />
      <circle cx="13" cy="13" r="1.3" fill="currentColor" />
    </Svg>
  );
}

/** Two arrows in a circle: take the last value again. */
export function ReuseIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M15.5 8A6 6 0 0 0 4.8 6.2M4.5 12a6 6 0 0 0 10.7 1.8" {...stroke} />
      <path d="M4.5 3v3.5H8M15.5 17v-3.5H12" {...stroke} />
    </Svg>
  );
}

/** An arrow pointing left: back to the previous place. */
export function BackIcon(props: IconProps) {
  return (
    <Svg {...props}>
      <path d="M16 10H4.5M9 5l-5 5 5 5" {...stroke} />
    </Svg>
  );
}
