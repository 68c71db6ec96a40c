export default function StudioPage() {
  return (
    <main style={{ padding: 24 }}>
      <h1>Wan Studio</h1>
      <p>Text-to-video with Wan 2.1 on your own machine.</p>
    </main>
  );
}
