"use client";
import { useEffect, useState } from "react";
import { api } from "@/lib/client/api";
import { useEventSource } from "@/lib/client/use-event-source";
import { isStudioEvent } from "@/lib/ui/job-state";
import { jobHref } from "@/lib/ui/links";
import { promptExcerpt } from "@/lib/ui/format";

const STORAGE_KEY = "studio.notify";
const ENDED: Record<string, string> = { succeeded: "Video ready", failed: "Generation failed", canceled: "Job canceled" };

/**
 * The bell in the top bar: once switched on (the browser asks for permission on that click, as it
 * requires a user action), a desktop notification tells when a job ends while this tab is hidden, and
 * clicking it opens the job. Off by default; the choice is kept in this browser.
 */
export function NotifyToggle() {
  const [supported, setSupported] = useState(false);
  const [on, setOn] = useState(false);

  useEffect(() => {
    const available = typeof window !== "undefined" && "Notification" in window;
    setSupported(available);
    setOn(available && Notification.permission === "granted" && localStorage.getItem(STORAGE_KEY) === "on");
  }, []);

  useEventSource(on ? "/api/events" : null, (_name, data) => {
    if (!isStudioEvent(data) || !(data.type in ENDED) || !document.hidden) return;
    const { jobId, type } = data;
    void api
      .getJob(jobId)
      .then((job) => promptExcerpt(job.prompt, 80))
      .catch(() => "")
      .then((body) => {
        const note = new Notification(ENDED[type], { body, tag: jobId });
        note.onclick = () => {
          window.focus();
          window.location.assign(jobHref(jobId));
          note.close();
        };
      });
  });

  if (!supported) return null;
  const toggle = async () => {
    if (on) {
      localStorage.setItem(STORAGE_KEY, "off");
      setOn(false);
      return;
    }
    const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
    const granted = permission === "granted";
    localStorage.setItem(STORAGE_KEY, granted ? "on" : "off");
    setOn(granted);
  };
  const denied = Notification.permission === "denied";
  return (
    <button
      type="button"
      className="icon-button icon-button-quiet notify-toggle"
      onClick={() => void toggle()}
      aria-pressed={on}
      disabled={denied && !on}
      aria-label={on ? "Stop notifying when jobs end" : "Notify me when jobs end"}
      title={denied ? "Notifications are blocked for this site in the browser's settings" : on ? "Notifications on" : "Notify me when a job ends"}
    >
      <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true">
        <path
          d="M10 3a4.5 4.5 0 0 0-4.5 4.5V11L4 13.5h12L14.5 11V7.5A4.5 4.5 0 0 0 10 3zM8 15.5a2 2 0 0 0 4 0"
          stroke="currentColor"
          strokeWidth="1.6"
          fill={on ? "currentColor" : "none"}
          strokeLinejoin="round"
        />
      </svg>
    </button>
  );
}
