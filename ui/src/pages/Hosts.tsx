export function HostsPage() {
  return <h1>Hosts</h1>;
}
