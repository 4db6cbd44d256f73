import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startSession } from './session.ts';
import { App } from './app.tsx';
import './styles.css';

startSession();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
