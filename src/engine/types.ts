/**
 * Boundary objects of the conversation engine, by concept (one module each under `./schemas/`):
 * - `common`: timestamps, flow memory, approval decisions;
 * - `events`: session events and the turn result;
 * - `state`: session state carried across continue-as-new, its versions and limits;
 * - `activity-protocol`: activity inputs and outputs and the `SessionActivities` interface;
 * - `commands`: the commands the engine asks its host to run and the inputs that answer them.
 *
 * Import from here; the concept modules import each other directly (never through this file).
 */
export * from './schemas/common.js';
export * from './schemas/events.js';
export * from './schemas/state.js';
export * from './schemas/activity-protocol.js';
export * from './schemas/commands.js';
