import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { SseDefaults } from './SseDefaults';
import './styles.css';

const root = document.getElementById('root');
if (root === null) throw new Error('#root missing from index.html');
createRoot(root).render(
  <StrictMode>
    <SseDefaults>
      <App />
    </SseDefaults>
  </StrictMode>,
);
