/** Workflow entry point for the worker bundle: exports every workflow type. */
export { sessionWorkflow } from './session/workflow.js';
