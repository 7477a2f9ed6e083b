// html.js - htm bound to Preact: html`<p>${text}</p>` builds elements whose
// text is always set as text (never parsed as HTML), so data is escaped.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
