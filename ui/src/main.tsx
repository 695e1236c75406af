// The entry is small on purpose: on the topology (the home page) it starts the page's requests
// and the graph's code first, and the app's own code (React and the pages) loads alongside.
import './styles.css';
import { startTopology } from './topology/start';

if (window.location.pathname === '/') startTopology();
void import('./boot');
