export function TracesPage() {
  return <h1>Traces</h1>;
}
