import type { Response } from 'supertest';
import { ALERTS_QUEUE, GUARDRAILS_QUEUE } from '@flagstream/changes';
import { receiptKeys } from '@flagstream/protocol';
import { createProject, createToken, failJob, startAdmin, type AdminHarness } from './support/admin-harness';

/**
 * The authorization matrix of the admin API: every route against every kind of caller, with the
 * exact status of each refusal and each success. A refused write must leave no audit event behind;
 * an allowed write leaves exactly one. A route the OpenAPI document lists without a row here fails
 * the completeness test.
 */

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** `-` for routes without a project; `A` / `B` use the staging environment (not protected). */
type Target = '-' | 'A' | 'B' | 'A:production';
type Status = 200 | 201 | 202 | 204 | 403;
type AuthedCaller = 'viewer' | 'editor' | 'owner' | 'editorA' | 'ownerA';
type Row = [Method, string, Target, Status, Status, Status, Status, Status];

const PROJECT_A = 'proj-a';
const PROJECT_B = 'proj-b';

// prettier-ignore
const MATRIX: Row[] = [
  // method    path                                                                        target          viewer editor owner editorA ownerA
  ['GET',    '/api/v1/projects',                                                           '-',            200,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects',                                                           '-',            403,   403,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}',                                                 'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}',                                                 'B',            200,   200,   200,  403,    403],
  ['PATCH',  '/api/v1/projects/{project}',                                                 'A',            403,   403,   200,  403,    200],
  ['PATCH',  '/api/v1/projects/{project}',                                                 'B',            403,   403,   200,  403,    403],

  ['GET',    '/api/v1/projects/{project}/environments',                                    'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments',                                    'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/environments',                                    'A',            403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/environments',                                    'B',            403,   403,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}',                              'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/revisions/{revision}/propagation', 'A',        200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/revisions/{revision}/propagation', 'B',        200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}',                              'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}',                              'B',            200,   200,   200,  403,    403],
  ['PATCH',  '/api/v1/projects/{project}/environments/{env}',                              'A',            403,   403,   200,  403,    200],
  ['PATCH',  '/api/v1/projects/{project}/environments/{env}',                              'A:production', 403,   403,   200,  403,    200],
  ['PATCH',  '/api/v1/projects/{project}/environments/{env}',                              'B',            403,   403,   200,  403,    403],

  ['GET',    '/api/v1/projects/{project}/flags',                                           'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/flags',                                           'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/flags',                                           'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/flags',                                           'B',            403,   201,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/flags/{flag}',                                    'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/flags/{flag}',                                    'B',            200,   200,   200,  403,    403],
  ['PATCH',  '/api/v1/projects/{project}/flags/{flag}',                                    'A',            403,   200,   200,  200,    200],
  ['PATCH',  '/api/v1/projects/{project}/flags/{flag}',                                    'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/archive',                            'A',            403,   200,   200,  200,    200],
  // A:production here: the flag is on in the protected production, so archiving it needs an owner.
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/archive',                            'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/archive',                            'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/restore',                            'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/restore',                            'B',            403,   200,   200,  403,    403],
  // A:production here: the archived flag is on in the protected production, so restoring it needs an owner.
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/restore',                            'A:production', 403,   403,   200,  403,    200],
  ['GET',    '/api/v1/projects/{project}/flags/{flag}/environments/{env}',                 'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/flags/{flag}/environments/{env}',                 'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/flags/{flag}/environments/{env}',                 'B',            200,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/flags/{flag}/environments/{env}',                 'A',            403,   200,   200,  200,    200],
  ['PUT',    '/api/v1/projects/{project}/flags/{flag}/environments/{env}',                 'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/flags/{flag}/environments/{env}',                 'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/environments/{env}/toggle',          'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/environments/{env}/toggle',          'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/flags/{flag}/environments/{env}/toggle',          'B',            403,   200,   200,  403,    403],

  ['POST',   '/api/v1/projects/{project}/kill-switch',                                     'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/kill-switch',                                     'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/kill-switch',                                     'B',            403,   200,   200,  403,    403],

  // Scheduling follows the write it schedules: editors, and owners for protected environments.
  ['GET',    '/api/v1/projects/{project}/scheduled-changes',                               'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/scheduled-changes',                               'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/scheduled-changes',                               'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/scheduled-changes',                               'A:production', 403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/scheduled-changes',                               'B',            403,   201,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/scheduled-changes/{id}',                          'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/scheduled-changes/{id}',                          'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/scheduled-changes/{id}',                          'B',            200,   200,   200,  403,    403],
  ['PATCH',  '/api/v1/projects/{project}/scheduled-changes/{id}',                          'A',            403,   200,   200,  200,    200],
  ['PATCH',  '/api/v1/projects/{project}/scheduled-changes/{id}',                          'A:production', 403,   403,   200,  403,    200],
  ['PATCH',  '/api/v1/projects/{project}/scheduled-changes/{id}',                          'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/scheduled-changes/{id}/cancel',                   'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/scheduled-changes/{id}/cancel',                   'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/scheduled-changes/{id}/cancel',                   'B',            403,   200,   200,  403,    403],

  // Release plans follow the flag writes they make: editors, and owners for protected environments.
  ['GET',    '/api/v1/projects/{project}/release-plans',                                   'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/release-plans',                                   'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/release-plans',                                   'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/release-plans',                                   'A:production', 403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/release-plans',                                   'B',            403,   201,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/release-plans/{id}',                              'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/release-plans/{id}',                              'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/release-plans/{id}',                              'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/start',                                  'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/start',                                  'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/start',                                  'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/pause',                                  'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/pause',                                  'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/pause',                                  'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/resume',                                 'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/resume',                                 'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/resume',                                 'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/advance',                                'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/advance',                                'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/advance',                                'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/abort',                                  'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/abort',                                  'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/release-plans/{id}/abort',                                  'B',            403,   200,   200,  403,    403],

  // Experiments: writes in a protected environment need the owner, as for release plans; aggregating
  // on demand changes no setting, so editors may run it anywhere they can write.
  ['GET',    '/api/v1/projects/{project}/experiments',                                     'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments',                                     'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}',                               'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}',                               'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}',                               'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}/results',                       'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}/results',                       'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}/results',                       'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}/results/history',               'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}/results/history',               'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/experiments/{key}/results/history',               'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/experiments',                                     'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/experiments',                                     'A:production', 403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/experiments',                                     'B',            403,   201,   201,  403,    403],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/start',                         'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/start',                         'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/start',                         'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/stop',                          'A',            403,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/stop',                          'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/stop',                          'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/results',                       'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/results',                       'A:production', 403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/experiments/{key}/results',                       'B',            403,   201,   201,  403,    403],

  ['GET',    '/api/v1/projects/{project}/configs',                                         'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/configs',                                         'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/configs',                                         'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/configs',                                         'B',            403,   201,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/configs/{key}',                                   'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/configs/{key}',                                   'B',            200,   200,   200,  403,    403],
  ['PATCH',  '/api/v1/projects/{project}/configs/{key}',                                   'A',            403,   200,   200,  200,    200],
  ['PATCH',  '/api/v1/projects/{project}/configs/{key}',                                   'B',            403,   200,   200,  403,    403],
  // Deleting an item or changing its default changes what the protected production serves: owners only.
  ['DELETE', '/api/v1/projects/{project}/configs/{key}',                                   'A',            403,   403,   204,  403,    204],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}',                                   'B',            403,   403,   204,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/default',                           'A',            403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/default',                           'B',            403,   403,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}',                'A',            403,   200,   200,  200,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}',                'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}',                'B',            403,   200,   200,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}/environments/{env}',                'A',            403,   200,   200,  200,    200],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}/environments/{env}',                'A:production', 403,   403,   200,  403,    200],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}/environments/{env}',                'B',            403,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}', 'A',          403,   200,   200,  200,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}', 'A:production', 403, 403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}', 'B',          403,   200,   200,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}', 'A',          403,   200,   200,  200,    200],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}', 'A:production', 403, 403,   200,  403,    200],
  ['DELETE', '/api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}', 'B',          403,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}/rules',          'A',            403,   200,   200,  200,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}/rules',          'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/configs/{key}/environments/{env}/rules',          'B',            403,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/versions',                          'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/versions',                          'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/versions/{version}',                'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/versions/{version}',                'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/diff',                              'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/diff',                              'B',            200,   200,   200,  403,    403],
  // The rollback here undoes a staging value, so it stays out of production.
  ['POST',   '/api/v1/projects/{project}/configs/{key}/rollback',                          'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/configs/{key}/rollback',                          'B',            403,   201,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/explain',                           'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/configs/{key}/explain',                           'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/configs',                      'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/configs',                      'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/configs/export',               'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/configs/export',               'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/configs/import',               'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/configs/import',               'A:production', 403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/configs/import',               'B',            403,   201,   201,  403,    403],

  ['GET',    '/api/v1/projects/{project}/segments',                                        'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/segments',                                        'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/segments',                                        'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/segments',                                        'B',            403,   201,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/segments/{segment}',                              'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/segments/{segment}',                              'B',            200,   200,   200,  403,    403],
  ['PATCH',  '/api/v1/projects/{project}/segments/{segment}',                              'A',            403,   200,   200,  200,    200],
  ['PATCH',  '/api/v1/projects/{project}/segments/{segment}',                              'B',            403,   200,   200,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/segments/{segment}',                              'A',            403,   204,   204,  204,    204],
  ['DELETE', '/api/v1/projects/{project}/segments/{segment}',                              'B',            403,   204,   204,  403,    403],

  // SDK keys follow the editor role in every environment, protected ones included.
  ['GET',    '/api/v1/projects/{project}/environments/{env}/sdk-keys',                     'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/sdk-keys',                     'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/sdk-keys',                     'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/sdk-keys',                     'A',            403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/sdk-keys',                     'A:production', 403,   201,   201,  201,    201],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/sdk-keys',                     'B',            403,   201,   201,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/sdk-keys/{id}',                'A',            403,   204,   204,  204,    204],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/sdk-keys/{id}',                'A:production', 403,   204,   204,  204,    204],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/sdk-keys/{id}',                'B',            403,   204,   204,  403,    403],

  // Secrets: metadata needs viewer; writes need editor, and owner in the protected production.
  ['GET',    '/api/v1/projects/{project}/environments/{env}/secrets',                      'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/secrets',                      'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/secrets',                      'B',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'B',            200,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A',            403,   200,   200,  200,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'B',            403,   200,   200,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A',            403,   200,   200,  200,    200],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A:production', 403,   403,   200,  403,    200],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'B',            403,   200,   200,  403,    403],
  // POST carries the custom actions (`…/secrets/{path}:reveal`, `:rollback`, `:restore`, `:destroy`);
  // these rows measure `:reveal`, which the route lets every viewer reach. Beyond the route the read
  // policy decides (deny by default: 403 plus a `secret.reveal_denied` audit event, the one refusal
  // that writes an event, so it is no cell here: test/secrets.e2e-spec.ts covers it). The fixtures
  // grant every role every path in every environment, so each refusal below is the guard's (a token
  // of the other project), which writes nothing, and each allowed reveal writes exactly one event
  // (`secret.revealed`).
  ['POST',   '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A',            200,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'A:production', 200,   200,   200,  200,    200],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/secrets/{path}',               'B',            200,   200,   200,  403,    403],
  // A read grant is a way to read: changing grants needs an owner.
  ['GET',    '/api/v1/projects/{project}/secret-policies',                                 'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/secret-policies',                                 'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/secret-policies',                                 'A',            403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/secret-policies',                                 'B',            403,   403,   201,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/secret-policies/{id}',                            'A',            403,   403,   204,  403,    204],
  ['DELETE', '/api/v1/projects/{project}/secret-policies/{id}',                            'B',            403,   403,   204,  403,    403],

  // Rotation policies follow the secret writes: editors, and owners in protected environments.
  ['GET',    '/api/v1/projects/{project}/secret-rotations',                                'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/secret-rotations',                                'B',            200,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'A',            403,   200,   200,  200,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'B',            403,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'A',            403,   202,   202,  202,    202],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'A:production', 403,   403,   202,  403,    202],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'B',            403,   202,   202,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'A',            403,   204,   204,  204,    204],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'A:production', 403,   403,   204,  403,    204],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/secret-rotations/{path}',      'B',            403,   204,   204,  403,    403],

  // A signing key vouches for whatever it signs: viewers see public keys and settings, every change needs an owner.
  ['GET',    '/api/v1/projects/{project}/signing-keys',                                    'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/signing-keys',                                    'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/signing-keys',                                    'A',            403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/signing-keys',                                    'B',            403,   403,   201,  403,    403],
  ['POST',   '/api/v1/projects/{project}/signing-keys/rotate',                             'A',            403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/signing-keys/rotate',                             'B',            403,   403,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/signing-keys/{kid}/activate',                     'A',            403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/signing-keys/{kid}/activate',                     'B',            403,   403,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/signing-keys/{kid}/retire',                       'A',            403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/signing-keys/{kid}/retire',                       'B',            403,   403,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/signing-key-settings',                            'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/signing-key-settings',                            'B',            200,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/signing-key-settings',                            'A',            403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/signing-key-settings',                            'B',            403,   403,   200,  403,    403],

  // Certificates: metadata for viewers; every write needs an owner (a certificate's key lets its holder be the service).
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificates',                 'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificates',                 'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificates',                 'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/certificates',                 'A',            403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/certificates',                 'A:production', 403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/certificates',                 'B',            403,   403,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'B',            200,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A',            403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'B',            403,   403,   200,  403,    403],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A',            403,   403,   200,  403,    200],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A:production', 403,   403,   200,  403,    200],
  ['DELETE', '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'B',            403,   403,   200,  403,    403],
  // POST carries the custom action `…/certificates/{path}:renew`.
  ['POST',   '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A',            403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'A:production', 403,   403,   200,  403,    200],
  ['POST',   '/api/v1/projects/{project}/environments/{env}/certificates/{path}',          'B',            403,   403,   200,  403,    403],
  ['GET',    '/api/v1/projects/{project}/certificate-authority',                           'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/certificate-authority',                           'B',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/projects/{project}/certificate-authority',                           'A',            403,   403,   201,  403,    201],
  ['POST',   '/api/v1/projects/{project}/certificate-authority',                           'B',            403,   403,   201,  403,    403],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificate-settings',         'A',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificate-settings',         'A:production', 200,   200,   200,  200,    200],
  ['GET',    '/api/v1/projects/{project}/environments/{env}/certificate-settings',         'B',            200,   200,   200,  403,    403],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/certificate-settings',         'A',            403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/certificate-settings',         'A:production', 403,   403,   200,  403,    200],
  ['PUT',    '/api/v1/projects/{project}/environments/{env}/certificate-settings',         'B',            403,   403,   200,  403,    403],

  ['GET',    '/api/v1/tokens',                                                             '-',            403,   403,   200,  403,    403],
  ['POST',   '/api/v1/tokens',                                                             '-',            403,   403,   201,  403,    403],
  ['DELETE', '/api/v1/tokens/{id}',                                                        '-',            403,   403,   204,  403,    403],

  ['GET',    '/api/v1/audit',                                                              '-',            200,   200,   200,  200,    200],
  ['GET',    '/api/v1/audit/verify',                                                       '-',            403,   403,   200,  403,    403],

  // The worker's queues are instance-wide: unscoped tokens only; retrying or removing needs an owner.
  // The keyring's status: instance-wide, owners only (it tells where the keys are in their lifecycle).
  ['GET',    '/api/v1/kek',                                                                '-',            403,   403,   200,  403,    403],
  ['GET',    '/api/v1/jobs',                                                               '-',            200,   200,   200,  403,    403],
  ['GET',    '/api/v1/jobs/failed',                                                        '-',            200,   200,   200,  403,    403],
  ['POST',   '/api/v1/jobs/failed/{queue}/{id}/retry',                                     '-',            403,   403,   200,  403,    403],
  ['DELETE', '/api/v1/jobs/failed/{queue}/{id}',                                           '-',            403,   403,   204,  403,    403],
];

const AUTHED_CALLERS: AuthedCaller[] = ['viewer', 'editor', 'owner', 'editorA', 'ownerA'];
/** The name each caller's token has (test/support/admin-harness.ts, and the first start's owner), as audited. */
const TOKEN_NAMES: Record<AuthedCaller, string> = { viewer: 'viewer', editor: 'editor', owner: 'owner (first start)', editorA: `editor@${PROJECT_A}`, ownerA: `owner@${PROJECT_A}` };
/** Callers that are not an admin token at all: always 401, whatever the route. */
const UNAUTHENTICATED_CALLERS = ['no Authorization header', 'malformed header (Basic)', 'unknown token', 'revoked token', 'server SDK key', 'client SDK key'] as const;
type UnauthenticatedCaller = (typeof UNAUTHENTICATED_CALLERS)[number];

/** One request, fully resolved: path parameters filled in, a body that would succeed if allowed. */
interface Call {
  params: Record<string, string>;
  /** A custom method after the path (`reveal` makes `…/secrets/payments/stripe/api-key:reveal`). */
  action?: string;
  /** Query string (without `?`). */
  query?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Checks the body of a successful answer (only called for allowed calls). */
  check?: (res: Response, caller: AuthedCaller) => void | Promise<void>;
}

describe('admin API authorization matrix', () => {
  let h: AdminHarness;
  const secrets = {} as Record<AuthedCaller | UnauthenticatedCaller, string | undefined>;
  const fixtureSdkKeyIds = new Map<string, string>();
  let fixtureTokenId: string;
  /** A pending scheduled change per project and environment, for the refused calls to aim at. */
  const fixtureScheduleIds = new Map<string, string>();
  /** The one failed job of the alerts queue; allowed retries and removals get failed guardrail jobs of their own. */
  const FIXTURE_JOB = 'fixture-alert';
  /**
   * The secret every environment of both projects holds (version 1, its value below), for reads and
   * reveals and for refused deletes to aim at. Puts rotate `ROTATING_SECRET`; deletes get their own.
   */
  const FIXTURE_SECRET = 'payments/stripe/api-key';
  const ROTATING_SECRET = 'fixture/rotating';
  const fixtureSecretValue = (t: { project?: string; env?: string }) => `sk_fixture_${t.project}_${t.env}`;
  /** Per project: the grant letting every role reveal every secret, so reveal rows measure the route alone. */
  const fixtureGrantIds = new Map<string, string>();
  /** Per project: a grant that refused deletes aim at (the grant above stays out of harm's way). */
  const fixturePolicyIds = new Map<string, string>();
  /** Per project: the signing key the first rotation made current (listed for good; refused calls aim at it). */
  const fixtureSigningKids = new Map<string, string>();
  /** Every environment of both projects holds this certificate, issued by the project CA (reads, renewals, refused writes aim at it). */
  const FIXTURE_CERTIFICATE = 'tls/fixture';
  /** A chain and its key, issued by a fixture CA and read back through the secret it was published to: what allowed uploads send. */
  let uploadable: { certificate: string; privateKey: string };
  let serial = 0;
  const unique = (prefix: string) => `${prefix}-${++serial}`;

  const owner = () => h.api(h.ownerToken);

  function targetOf(t: Target): { project?: string; env?: string } {
    switch (t) {
      case '-':
        return {};
      case 'A':
        return { project: PROJECT_A, env: 'staging' };
      case 'B':
        return { project: PROJECT_B, env: 'staging' };
      case 'A:production':
        return { project: PROJECT_A, env: 'production' };
    }
  }

  async function expectStatus(res: Response, status: number): Promise<Response> {
    if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res;
  }

  async function newFlag(project: string, archived = false): Promise<string> {
    const key = unique('flag');
    await expectStatus(await owner().post(`/api/v1/projects/${project}/flags`, { key, kind: 'boolean' }), 201);
    if (archived) await expectStatus(await owner().post(`/api/v1/projects/${project}/flags/${key}/archive`), 200);
    return key;
  }

  async function newConfig(project: string): Promise<string> {
    const key = `doomed.${unique('c')}`;
    await expectStatus(await owner().post(`/api/v1/projects/${project}/configs`, { key, schema: { type: 'string' }, default: 'a' }), 201);
    return key;
  }

  async function versionOf(path: string): Promise<number> {
    const res = await expectStatus(await owner().get(path), 200);
    return res.body.version as number;
  }

  async function newSdkKey(project: string, env: string): Promise<string> {
    const res = await expectStatus(await owner().post(`/api/v1/projects/${project}/environments/${env}/sdk-keys`, { kind: 'server', name: unique('key') }), 201);
    return res.body.id as string;
  }

  /** A time in the future no two calls share. */
  const later = () => new Date(Date.now() + 86_400_000 + ++serial * 1000).toISOString();

  async function newSchedule(project: string, env: string): Promise<string> {
    const body = { environment: env, runAt: later(), change: { type: 'flag.toggle', flag: 'fixture-flag', on: true } };
    const res = await expectStatus(await owner().post(`/api/v1/projects/${project}/scheduled-changes`, body), 201);
    return res.body.id as string;
  }

  /** A release plan of a new flag in `env`, moved by the owner to `state` (each call gets its own). */
  async function newPlan(project: string, env: string, state: 'draft' | 'running' | 'paused'): Promise<string> {
    const flag = await newFlag(project);
    const milestones = [
      { percentage: 10, bakeSeconds: 3600 },
      { percentage: 50, bakeSeconds: 3600 },
      { percentage: 100, bakeSeconds: 1 },
    ];
    const res = await expectStatus(await owner().post(`/api/v1/projects/${project}/release-plans`, { environment: env, flag, milestones }), 201);
    const id = res.body.id as string;
    if (state !== 'draft') await expectStatus(await owner().post(`/api/v1/projects/${project}/release-plans/${id}/start`), 200);
    if (state === 'paused') await expectStatus(await owner().post(`/api/v1/projects/${project}/release-plans/${id}/pause`), 200);
    return id;
  }

  /** An experiment on a new flag in `env`, started by the owner when `state` is running (each call gets its own). */
  async function newExperiment(project: string, env: string, state: 'draft' | 'running'): Promise<{ key: string; flag: string }> {
    const flag = await newFlag(project);
    const key = unique('exp');
    const body = { key, name: key, environment: env, flag, control: 'off', variations: [{ variation: 'off', weight: 1 }, { variation: 'on', weight: 1 }], metrics: [{ key: 'clicks', role: 'primary', kind: 'conversion', event: 'clicked' }] };
    await expectStatus(await owner().post(`/api/v1/projects/${project}/experiments`, body), 201);
    if (state === 'running') await expectStatus(await owner().post(`/api/v1/projects/${project}/experiments/${key}/start`), 200);
    return { key, flag };
  }

  /** The secrets of a target's environment; a secret's slash path goes after it as is. */
  const secretsOf = (t: { project?: string; env?: string }) => `/api/v1/projects/${t.project}/environments/${t.env}/secrets`;
  const rotationsOf = (t: { project?: string; env?: string }) => `/api/v1/projects/${t.project}/environments/${t.env}/secret-rotations`;

  async function putSecret(project: string, env: string, path: string, value: string): Promise<Response> {
    return expectStatus(await owner().put(`${secretsOf({ project, env })}/${path}`, { value }), 200);
  }

  async function newPolicy(project: string, role: 'viewer' | 'editor' | 'owner', paths: string[]): Promise<string> {
    const res = await expectStatus(await owner().post(`/api/v1/projects/${project}/secret-policies`, { subject: { type: 'role', role }, paths, environments: '*' }), 201);
    return res.body.id as string;
  }

  const signingKeysOf = (project: string) => `/api/v1/projects/${project}/signing-keys`;
  const certificatesOf = (t: { project?: string; env?: string }) => `/api/v1/projects/${t.project}/environments/${t.env}/certificates`;

  /** Retires the project's waiting next signing key, if any (one next key per project: generating or rotating needs none). */
  async function clearNextSigningKey(project: string): Promise<void> {
    const list = await expectStatus(await owner().get(signingKeysOf(project)), 200);
    for (const k of list.body.items as Array<{ kid: string; status: string }>) {
      if (k.status === 'next') await expectStatus(await owner().post(`${signingKeysOf(project)}/${k.kid}/retire`), 200);
    }
  }

  /** A fresh next signing key of the project (each allowed activate or retire gets its own). */
  async function newNextSigningKey(project: string): Promise<string> {
    await clearNextSigningKey(project);
    const res = await expectStatus(await owner().post(signingKeysOf(project), { algorithm: 'EdDSA' }), 201);
    return res.body.kid as string;
  }

  async function auditCount(): Promise<number> {
    const [row] = await h.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
    return Number(row.n);
  }

  /**
   * How to call each route. `allowed` says whether the call is expected to succeed: then it gets
   * fresh resources of its own (a new flag to archive, a new segment to delete, the current
   * version to update); refused calls aim at long-lived fixtures, which must stay untouched.
   */
  const CALLS: Record<string, (t: { project?: string; env?: string }, allowed: boolean) => Promise<Call>> = {
    'GET /api/v1/projects': async () => ({
      params: {},
      check: (res, caller) => {
        const keys = (res.body.items as Array<{ key: string }>).map((p) => p.key);
        if (caller.endsWith('A')) expect(keys).toEqual([PROJECT_A]);
        else expect(keys).toEqual(expect.arrayContaining([PROJECT_A, PROJECT_B]));
      },
    }),
    'POST /api/v1/projects': async () => {
      const key = unique('project');
      return { params: {}, body: { key, name: key }, check: (res) => expect(res.body).toMatchObject({ key, name: key, version: 1 }) };
    },
    'GET /api/v1/projects/{project}': async (t) => ({ params: {}, check: (res) => expect(res.body.key).toBe(t.project) }),
    'PATCH /api/v1/projects/{project}': async (t) => {
      const version = await versionOf(`/api/v1/projects/${t.project}`);
      const name = unique('renamed');
      return { params: {}, body: { name }, headers: { 'If-Match': `"${version}"` }, check: (res) => expect(res.body).toMatchObject({ key: t.project, name, version: version + 1 }) };
    },
    'GET /api/v1/projects/{project}/environments': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ key: string }>).map((e) => e.key)).toEqual(expect.arrayContaining(['development', 'staging', 'production'])),
    }),
    'POST /api/v1/projects/{project}/environments': async () => {
      const key = unique('env');
      return { params: {}, body: { key, name: key }, check: (res) => expect(res.body).toMatchObject({ key, protected: false, version: 1 }) };
    },
    'GET /api/v1/projects/{project}/environments/{env}/revisions/{revision}/propagation': async (t) => {
      // What gateways would have written for revision 1 of this environment.
      const [env] = await h.db.query<{ id: string }>(
        'SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.key = $1 AND e.key = $2',
        [t.project, t.env],
      );
      const keys = receiptKeys(h.prefix, env.id, 1);
      await h.redis.hset(keys.counts, { connected: '4', acknowledged: '3' });
      await h.redis.del(keys.latencies);
      await h.redis.rpush(keys.latencies, '12', '5', '40');
      return {
        params: { env: t.env!, revision: '1' },
        check: (res) => expect(res.body).toMatchObject({ revision: 1, connected: 4, acknowledged: 3, ratio: 0.75, latencyMs: { p50: 12, p99: 40, max: 40 } }),
      };
    },
    'GET /api/v1/projects/{project}/environments/{env}': async (t) => ({
      params: { env: t.env! },
      check: (res) => expect(res.body).toMatchObject({ key: t.env, protected: t.env === 'production' }),
    }),
    'PATCH /api/v1/projects/{project}/environments/{env}': async (t) => {
      const version = await versionOf(`/api/v1/projects/${t.project}/environments/${t.env}`);
      const name = unique('env-name');
      return {
        params: { env: t.env! },
        body: { name },
        headers: { 'If-Match': `"${version}"` },
        check: (res) => expect(res.body).toMatchObject({ key: t.env, name, protected: t.env === 'production', version: version + 1 }),
      };
    },
    'GET /api/v1/projects/{project}/flags': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ key: string }>).map((f) => f.key)).toContain('fixture-flag'),
    }),
    'POST /api/v1/projects/{project}/flags': async () => {
      const key = unique('flag');
      return { params: {}, body: { key, kind: 'boolean' }, check: (res) => expect(res.body).toMatchObject({ key, kind: 'boolean', archived: false, version: 1 }) };
    },
    'GET /api/v1/projects/{project}/flags/{flag}': async () => ({
      params: { flag: 'fixture-flag' },
      check: (res) => expect(Object.keys(res.body.environments as object)).toEqual(expect.arrayContaining(['development', 'staging', 'production'])),
    }),
    'PATCH /api/v1/projects/{project}/flags/{flag}': async (t) => {
      const version = await versionOf(`/api/v1/projects/${t.project}/flags/fixture-flag`);
      const description = unique('description');
      return {
        params: { flag: 'fixture-flag' },
        body: { description, version },
        check: (res) => expect(res.body).toMatchObject({ key: 'fixture-flag', description, version: version + 1 }),
      };
    },
    'POST /api/v1/projects/{project}/flags/{flag}/archive': async (t, allowed) => {
      const live = t.env === 'production';
      let flag = live ? 'live-flag' : 'fixture-flag';
      if (allowed) {
        flag = await newFlag(t.project!);
        if (live) await expectStatus(await owner().post(`/api/v1/projects/${t.project}/flags/${flag}/environments/production/toggle`, { on: true }), 200);
      }
      return { params: { flag }, check: (res) => expect(res.body).toMatchObject({ key: flag, archived: true }) };
    },
    'POST /api/v1/projects/{project}/flags/{flag}/restore': async (t, allowed) => {
      const live = t.env === 'production';
      let flag = live ? 'archived-live-flag' : 'archived-flag';
      if (allowed) {
        flag = await newFlag(t.project!);
        if (live) await expectStatus(await owner().post(`/api/v1/projects/${t.project}/flags/${flag}/environments/production/toggle`, { on: true }), 200);
        await expectStatus(await owner().post(`/api/v1/projects/${t.project}/flags/${flag}/archive`), 200);
      }
      return { params: { flag }, check: (res) => expect(res.body).toMatchObject({ key: flag, archived: false }) };
    },
    'GET /api/v1/projects/{project}/flags/{flag}/environments/{env}': async () => ({
      params: { flag: 'fixture-flag' },
      check: (res) => expect(res.body).toMatchObject({ offVariation: 'off', salt: 'fixture-flag' }),
    }),
    'PUT /api/v1/projects/{project}/flags/{flag}/environments/{env}': async (t) => {
      const version = await versionOf(`/api/v1/projects/${t.project}/flags/fixture-flag/environments/${t.env}`);
      const rules = [{ id: unique('rule'), clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }];
      return {
        params: { flag: 'fixture-flag' },
        body: { on: true, offVariation: 'off', prerequisites: [], rules, defaultServe: { variation: 'off' } },
        headers: { 'If-Match': `"${version}"` },
        check: (res) => expect(res.body).toMatchObject({ on: true, rules, defaultServe: { variation: 'off' }, version: version + 1 }),
      };
    },
    'POST /api/v1/projects/{project}/flags/{flag}/environments/{env}/toggle': async (t) => {
      const current = await expectStatus(await owner().get(`/api/v1/projects/${t.project}/flags/fixture-flag/environments/${t.env}`), 200);
      const on = !current.body.on;
      return {
        params: { flag: 'fixture-flag' },
        body: { on },
        check: (res) => expect(res.body).toMatchObject({ on, version: (current.body.version as number) + 1 }),
      };
    },
    'POST /api/v1/projects/{project}/kill-switch': async (t, allowed) => {
      let flag = 'fixture-flag';
      if (allowed) {
        flag = await newFlag(t.project!);
        await expectStatus(await owner().post(`/api/v1/projects/${t.project}/flags/${flag}/environments/${t.env}/toggle`, { on: true }), 200);
      }
      return {
        params: {},
        body: { flags: [flag], environments: [t.env] },
        check: (res) => expect(res.body.killed).toEqual([{ flag, environment: t.env, revision: expect.any(Number) }]),
      };
    },
    'GET /api/v1/projects/{project}/scheduled-changes': async (t) => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ id: string }>).map((s) => s.id)).toContain(fixtureScheduleIds.get(`${t.project}/${t.env}`)),
    }),
    'POST /api/v1/projects/{project}/scheduled-changes': async (t) => {
      const runAt = later();
      return {
        params: {},
        body: { environment: t.env, runAt, change: { type: 'flag.toggle', flag: 'fixture-flag', on: true } },
        check: (res) => expect(res.body).toMatchObject({ environment: t.env, runAt, status: 'pending', version: 1, change: { type: 'flag.toggle', flag: 'fixture-flag', on: true } }),
      };
    },
    'GET /api/v1/projects/{project}/scheduled-changes/{id}': async (t) => {
      const id = fixtureScheduleIds.get(`${t.project}/${t.env}`)!;
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, project: t.project, environment: t.env, status: 'pending' }) };
    },
    'PATCH /api/v1/projects/{project}/scheduled-changes/{id}': async (t, allowed) => {
      const id = allowed ? await newSchedule(t.project!, t.env!) : fixtureScheduleIds.get(`${t.project}/${t.env}`)!;
      const runAt = later();
      return { params: { id }, body: { runAt, version: 1 }, check: (res) => expect(res.body).toMatchObject({ id, runAt, version: 2, status: 'pending' }) };
    },
    'POST /api/v1/projects/{project}/scheduled-changes/{id}/cancel': async (t, allowed) => {
      const id = allowed ? await newSchedule(t.project!, t.env!) : fixtureScheduleIds.get(`${t.project}/${t.env}`)!;
      return { params: { id }, body: {}, check: (res) => expect(res.body).toMatchObject({ id, status: 'cancelled', version: 2 }) };
    },
    'GET /api/v1/projects/{project}/release-plans': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'draft');
      const [{ flag_key: flag }] = await h.db.query<{ flag_key: string }>('SELECT flag_key FROM release_plans WHERE id = $1', [id]);
      return { params: {}, query: `flag=${flag}`, check: (res) => expect((res.body.items as Array<{ id: string }>).map((p) => p.id)).toEqual([id]) };
    },
    'POST /api/v1/projects/{project}/release-plans': async (t) => {
      const flag = await newFlag(t.project!);
      return {
        params: {},
        body: { environment: t.env, flag, milestones: [{ percentage: 5, manual: true }, { percentage: 100, bakeSeconds: 60 }] },
        check: (res) => expect(res.body).toMatchObject({ environment: t.env, flag, status: 'draft', currentMilestone: -1, version: 1 }),
      };
    },
    'GET /api/v1/projects/{project}/release-plans/{id}': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'running');
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, project: t.project, environment: t.env, status: 'running', currentMilestone: 0 }) };
    },
    'POST /api/v1/projects/{project}/release-plans/{id}/start': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'draft');
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, status: 'running', currentMilestone: 0, version: 2 }) };
    },
    'POST /api/v1/projects/{project}/release-plans/{id}/pause': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'running');
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, status: 'paused', currentMilestone: 0, version: 3 }) };
    },
    'POST /api/v1/projects/{project}/release-plans/{id}/resume': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'paused');
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, status: 'running', currentMilestone: 0, version: 4 }) };
    },
    'POST /api/v1/projects/{project}/release-plans/{id}/advance': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'running');
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, status: 'running', currentMilestone: 1, version: 3 }) };
    },
    'POST /api/v1/projects/{project}/release-plans/{id}/abort': async (t) => {
      const id = await newPlan(t.project!, t.env!, 'running');
      return { params: { id }, check: (res) => expect(res.body).toMatchObject({ id, status: 'aborted', version: 3, settingsBefore: { on: false } }) };
    },
    'GET /api/v1/projects/{project}/experiments': async (t) => {
      const { key, flag } = await newExperiment(t.project!, t.env!, 'draft');
      return { params: {}, query: `flag=${flag}`, check: (res) => expect((res.body.items as Array<{ key: string }>).map((x) => x.key)).toEqual([key]) };
    },
    'POST /api/v1/projects/{project}/experiments': async (t) => {
      const flag = await newFlag(t.project!);
      const key = unique('exp');
      return {
        params: {},
        body: { key, name: key, environment: t.env, flag, control: 'off', variations: [{ variation: 'off', weight: 1 }, { variation: 'on', weight: 1 }], metrics: [{ key: 'clicks', role: 'primary', kind: 'conversion', event: 'clicked' }] },
        check: (res) => expect(res.body).toMatchObject({ key, environment: t.env, flag, status: 'draft', version: 1 }),
      };
    },
    'GET /api/v1/projects/{project}/experiments/{key}': async (t) => {
      const { key } = await newExperiment(t.project!, t.env!, 'running');
      return { params: { key }, check: (res) => expect(res.body).toMatchObject({ key, project: t.project, environment: t.env, status: 'running', version: 2 }) };
    },
    'POST /api/v1/projects/{project}/experiments/{key}/start': async (t) => {
      const { key } = await newExperiment(t.project!, t.env!, 'draft');
      return { params: { key }, check: (res) => expect(res.body).toMatchObject({ key, status: 'running', version: 2, rollout: { experiment: key } }) };
    },
    'POST /api/v1/projects/{project}/experiments/{key}/stop': async (t) => {
      const { key } = await newExperiment(t.project!, t.env!, 'running');
      return { params: { key }, body: { action: 'restore' }, check: (res) => expect(res.body).toMatchObject({ key, status: 'stopped', version: 3, outcome: { action: 'restore' } }) };
    },
    'GET /api/v1/projects/{project}/experiments/{key}/results': async (t) => {
      const { key } = await newExperiment(t.project!, t.env!, 'running');
      return { params: { key }, check: (res) => expect(res.body).toMatchObject({ experiment: { key, status: 'running' }, snapshot: null }) };
    },
    'GET /api/v1/projects/{project}/experiments/{key}/results/history': async (t) => {
      const { key } = await newExperiment(t.project!, t.env!, 'running');
      return { params: { key }, query: 'limit=10', check: (res) => expect(res.body).toEqual({ items: [], nextAfter: null }) };
    },
    'POST /api/v1/projects/{project}/experiments/{key}/results': async (t) => {
      const { key } = await newExperiment(t.project!, t.env!, 'running');
      return { params: { key }, check: (res) => expect(res.body).toMatchObject({ experiment: { key }, snapshot: { trigger: 'manual', eventsRead: 0 } }) };
    },
    'GET /api/v1/projects/{project}/configs': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ key: string }>).map((c) => c.key)).toContain('fixture.config'),
    }),
    'POST /api/v1/projects/{project}/configs': async () => {
      const key = `made.${unique('c')}`;
      return { params: {}, body: { key, schema: { type: 'string' }, default: 'x' }, check: (res) => expect(res.body).toMatchObject({ key, default: 'x', version: 1 }) };
    },
    'GET /api/v1/projects/{project}/configs/{key}': async () => ({
      params: { key: 'fixture.config' },
      check: (res) => expect(res.body).toMatchObject({ key: 'fixture.config', schema: { type: 'integer' } }),
    }),
    'PATCH /api/v1/projects/{project}/configs/{key}': async () => {
      const description = unique('about');
      return { params: { key: 'fixture.config' }, body: { description }, check: (res) => expect(res.body).toMatchObject({ key: 'fixture.config', description }) };
    },
    'DELETE /api/v1/projects/{project}/configs/{key}': async (t, allowed) => {
      const key = allowed ? await newConfig(t.project!) : 'fixture.config';
      return { params: { key }, check: async () => expect((await owner().get(`/api/v1/projects/${t.project}/configs/${key}`)).status).toBe(404) };
    },
    'PUT /api/v1/projects/{project}/configs/{key}/default': async () => {
      const value = ++serial;
      return { params: { key: 'fixture.config' }, body: { value }, check: (res) => expect(res.body.default).toBe(value) };
    },
    'PUT /api/v1/projects/{project}/configs/{key}/environments/{env}': async (t) => {
      const value = ++serial;
      return { params: { key: 'fixture.config' }, body: { value }, check: (res) => expect(res.body.environments[t.env!].value).toBe(value) };
    },
    'DELETE /api/v1/projects/{project}/configs/{key}/environments/{env}': async (t) => {
      // The layer exists whether or not the call is allowed, so a refusal is about rights, not a 404.
      await expectStatus(await owner().put(`/api/v1/projects/${t.project}/configs/fixture.config/environments/${t.env}`, { value: ++serial }), 200);
      return { params: { key: 'fixture.config' }, check: (res) => expect(res.body.environments[t.env!]?.value).toBeUndefined() };
    },
    'PUT /api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}': async (t) => {
      const value = ++serial;
      return { params: { key: 'fixture.config', tenant: 'acme' }, body: { value }, check: (res) => expect(res.body.environments[t.env!].tenants.acme).toBe(value) };
    },
    'DELETE /api/v1/projects/{project}/configs/{key}/environments/{env}/tenants/{tenant}': async (t) => {
      const tenant = unique('tenant');
      await expectStatus(await owner().put(`/api/v1/projects/${t.project}/configs/fixture.config/environments/${t.env}/tenants/${tenant}`, { value: 1 }), 200);
      return { params: { key: 'fixture.config', tenant }, check: (res) => expect(res.body.environments[t.env!].tenants[tenant]).toBeUndefined() };
    },
    'PUT /api/v1/projects/{project}/configs/{key}/environments/{env}/rules': async (t) => {
      const rules = [{ id: unique('rule'), clauses: [{ attribute: 'plan', operator: 'in', values: ['pro'] }], value: 7 }];
      return { params: { key: 'fixture.config' }, body: { rules }, check: (res) => expect(res.body.environments[t.env!].rules).toEqual(rules) };
    },
    'GET /api/v1/projects/{project}/configs/{key}/versions': async (t) => ({
      params: { key: 'fixture.config' },
      check: async (res) => {
        const versions = (res.body.items as Array<{ version: number }>).map((v) => v.version);
        expect(versions[0]).toBe(await versionOf(`/api/v1/projects/${t.project}/configs/fixture.config`));
        expect(versions).toEqual([...versions].sort((a, b) => b - a));
      },
    }),
    'GET /api/v1/projects/{project}/configs/{key}/versions/{version}': async () => ({
      params: { key: 'fixture.config', version: '1' },
      check: (res) => expect(res.body).toMatchObject({ version: 1, default: 1 }),
    }),
    'GET /api/v1/projects/{project}/configs/{key}/diff': async () => ({
      params: { key: 'fixture.config' },
      query: 'from=0&to=1',
      check: (res) => expect(res.body.changes[0]).toMatchObject({ kind: 'definition', before: null }),
    }),
    'POST /api/v1/projects/{project}/configs/{key}/rollback': async (t, allowed) => {
      const key = allowed ? await newConfig(t.project!) : 'fixture.config';
      if (allowed) await expectStatus(await owner().put(`/api/v1/projects/${t.project}/configs/${key}/environments/staging`, { value: 'changed' }), 200);
      return { params: { key }, body: { to: 1 }, check: (res) => expect(res.body).toMatchObject({ version: 3, environments: {} }) };
    },
    'GET /api/v1/projects/{project}/configs/{key}/explain': async (t) => ({
      params: { key: 'fixture.config' },
      query: `environment=${t.env}`,
      check: (res) => expect(res.body).toMatchObject({ key: 'fixture.config', environment: t.env, found: true }),
    }),
    'GET /api/v1/projects/{project}/environments/{env}/configs': async () => ({
      params: {},
      check: (res) => expect(Object.keys(res.body.configs as object)).toContain('fixture.config'),
    }),
    'GET /api/v1/projects/{project}/environments/{env}/configs/export': async (t) => ({
      params: {},
      check: (res) => expect(res.body).toMatchObject({ project: t.project, environment: t.env, configs: { 'fixture.config': expect.any(Object) } }),
    }),
    'POST /api/v1/projects/{project}/environments/{env}/configs/import': async () => {
      const value = ++serial;
      return {
        params: {},
        body: { format: 'json', document: { configs: { 'fixture.config': { value } } } },
        check: (res) => expect(res.body.imported).toEqual([{ key: 'fixture.config', version: expect.any(Number), changed: true }]),
      };
    },
    'GET /api/v1/projects/{project}/segments': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ key: string }>).map((s) => s.key)).toContain('fixture-segment'),
    }),
    'POST /api/v1/projects/{project}/segments': async () => {
      const key = unique('segment');
      return { params: {}, body: { key, included: ['user-1'] }, check: (res) => expect(res.body).toMatchObject({ key, included: ['user-1'], version: 1 }) };
    },
    'GET /api/v1/projects/{project}/segments/{segment}': async () => ({
      params: { segment: 'fixture-segment' },
      check: (res) => expect(res.body.key).toBe('fixture-segment'),
    }),
    'PATCH /api/v1/projects/{project}/segments/{segment}': async (t) => {
      const version = await versionOf(`/api/v1/projects/${t.project}/segments/fixture-segment`);
      const included = [unique('user')];
      return {
        params: { segment: 'fixture-segment' },
        body: { included },
        headers: { 'If-Match': `"${version}"` },
        check: (res) => expect(res.body).toMatchObject({ included, version: version + 1 }),
      };
    },
    'DELETE /api/v1/projects/{project}/segments/{segment}': async (t, allowed) => {
      let segment = 'fixture-segment';
      if (allowed) {
        segment = unique('segment');
        await expectStatus(await owner().post(`/api/v1/projects/${t.project}/segments`, { key: segment }), 201);
      }
      return {
        params: { segment },
        check: async () => expect((await owner().get(`/api/v1/projects/${t.project}/segments/${segment}`)).status).toBe(404),
      };
    },
    'GET /api/v1/projects/{project}/environments/{env}/sdk-keys': async (t) => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ id: string }>).map((k) => k.id)).toContain(fixtureSdkKeyIds.get(`${t.project}/${t.env}`)),
    }),
    'POST /api/v1/projects/{project}/environments/{env}/sdk-keys': async (t) => {
      const name = unique('sdk-key');
      return {
        params: {},
        body: { kind: 'client', name },
        check: (res) => {
          expect(res.body).toMatchObject({ name, kind: 'client', environment: t.env, revokedAt: null });
          expect(res.body.key).toMatch(/^fs_client_/);
        },
      };
    },
    'DELETE /api/v1/projects/{project}/environments/{env}/sdk-keys/{id}': async (t, allowed) => {
      const id = allowed ? await newSdkKey(t.project!, t.env!) : fixtureSdkKeyIds.get(`${t.project}/${t.env}`)!;
      return {
        params: { id },
        check: async () => {
          const [row] = await h.db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM sdk_keys WHERE id = $1', [id]);
          expect(row.revoked).toBe(true);
        },
      };
    },
    'GET /api/v1/projects/{project}/environments/{env}/secrets': async (t) => ({
      params: {},
      query: 'prefix=payments',
      check: (res) =>
        // Exactly these fields: a listing never carries a value.
        expect(res.body.items).toEqual([
          {
            path: FIXTURE_SECRET,
            environment: t.env,
            definedIn: t.env,
            inherited: false,
            currentVersion: 1,
            createdBy: expect.any(Object),
            createdAt: expect.any(String),
            updatedAt: expect.any(String),
          },
        ]),
    }),
    'GET /api/v1/projects/{project}/environments/{env}/secrets/{path}': async (t) => ({
      params: { path: FIXTURE_SECRET },
      check: (res) => {
        expect(res.body).toMatchObject({ path: FIXTURE_SECRET, environment: t.env, definedIn: t.env, inherited: false, currentVersion: 1, deleted: false });
        expect(res.body.versions).toEqual([expect.objectContaining({ version: 1, kekVersion: 1, destroyed: false })]);
        expect(JSON.stringify(res.body)).not.toContain(fixtureSecretValue(t));
      },
    }),
    'PUT /api/v1/projects/{project}/environments/{env}/secrets/{path}': async (t) => {
      const before = await expectStatus(await owner().get(`${secretsOf(t)}/${ROTATING_SECRET}`), 200);
      const version = (before.body.currentVersion as number) + 1;
      const value = `sk_${unique('rotated')}`;
      return {
        params: { path: ROTATING_SECRET },
        body: { value },
        check: async (res) => {
          expect(res.body).toMatchObject({ path: ROTATING_SECRET, environment: t.env, currentVersion: version, deleted: false });
          expect(res.body.versions).toHaveLength(version);
          expect(JSON.stringify(res.body)).not.toContain(value);
          const revealed = await expectStatus(await owner().post(`${secretsOf(t)}/${ROTATING_SECRET}:reveal`, {}), 200);
          expect(revealed.body).toMatchObject({ version, value });
        },
      };
    },
    'DELETE /api/v1/projects/{project}/environments/{env}/secrets/{path}': async (t, allowed) => {
      // Deleting twice is a 409, so each allowed delete gets a secret of its own.
      const path = allowed ? `doomed/${unique('secret')}` : FIXTURE_SECRET;
      if (allowed) await putSecret(t.project!, t.env!, path, 'sk_doomed');
      return {
        params: { path },
        check: async (res) => {
          expect(res.body).toMatchObject({ path, environment: t.env, currentVersion: 1, deleted: true, deletedAt: expect.any(String) });
          expect((await expectStatus(await owner().get(`${secretsOf(t)}?prefix=${path}`), 200)).body.items).toEqual([]);
        },
      };
    },
    'POST /api/v1/projects/{project}/environments/{env}/secrets/{path}': async (t) => ({
      params: { path: FIXTURE_SECRET },
      action: 'reveal',
      body: {},
      check: async (res, caller) => {
        expect(res.body).toEqual({ path: FIXTURE_SECRET, environment: t.env, definedIn: t.env, version: 1, value: fixtureSecretValue(t) });
        // The one event the reveal wrote: who read which path through which grant, never the value.
        const [event] = await h.db.query<{ action: string; actor_name: string; after: { path: string; version: number; policy: string }; payload: string }>(
          'SELECT action, actor_name, after, row_to_json(a)::text AS payload FROM audit_events a ORDER BY seq DESC LIMIT 1',
        );
        expect(event).toMatchObject({ action: 'secret.revealed', after: { path: FIXTURE_SECRET, version: 1, policy: fixtureGrantIds.get(t.project!) } });
        expect(event.actor_name).toBe(TOKEN_NAMES[caller]);
        expect(event.payload).not.toContain(fixtureSecretValue(t));
      },
    }),
    'GET /api/v1/projects/{project}/secret-rotations': async () => ({
      params: {},
      check: (res) => expect(res.body).toEqual({ items: expect.any(Array), overdue: expect.any(Number), failing: expect.any(Number) }),
    }),
    'PUT /api/v1/projects/{project}/environments/{env}/secret-rotations/{path}': async (t) => ({
      params: { path: FIXTURE_SECRET },
      body: { intervalSeconds: 86_400, graceSeconds: 60, rotator: 'random-token' },
      check: (res) => expect(res.body).toMatchObject({ path: FIXTURE_SECRET, environment: t.env, intervalSeconds: 86_400, graceSeconds: 60, rotator: 'random-token', status: 'ok' }),
    }),
    'POST /api/v1/projects/{project}/environments/{env}/secret-rotations/{path}': async (t, allowed) => {
      // Rotating needs a policy: each allowed call sets one first (no worker runs here, so it stays due).
      if (allowed) await expectStatus(await owner().put(`${rotationsOf(t)}/${FIXTURE_SECRET}`, { intervalSeconds: 86_400, rotator: 'random-token' }), 200);
      return { params: { path: FIXTURE_SECRET }, check: (res) => expect(res.body).toMatchObject({ path: FIXTURE_SECRET, environment: t.env, status: 'overdue' }) };
    },
    'DELETE /api/v1/projects/{project}/environments/{env}/secret-rotations/{path}': async (t, allowed) => {
      if (allowed) await expectStatus(await owner().put(`${rotationsOf(t)}/${FIXTURE_SECRET}`, { intervalSeconds: 86_400, rotator: 'random-token' }), 200);
      return {
        params: { path: FIXTURE_SECRET },
        check: async () => {
          const report = await expectStatus(await owner().get(`/api/v1/projects/${t.project}/secret-rotations`), 200);
          expect((report.body.items as Array<{ path: string; environment: string }>).filter((i) => i.environment === t.env && i.path === FIXTURE_SECRET)).toEqual([]);
        },
      };
    },
    'GET /api/v1/projects/{project}/secret-policies': async (t) => ({
      params: {},
      check: (res) => {
        const ids = (res.body.items as Array<{ id: string }>).map((p) => p.id);
        expect(ids).toEqual(expect.arrayContaining([fixtureGrantIds.get(t.project!), fixturePolicyIds.get(t.project!)]));
      },
    }),
    'POST /api/v1/projects/{project}/secret-policies': async (t) => {
      const description = unique('grant');
      return {
        params: {},
        body: { subject: { type: 'role', role: 'viewer' }, paths: ['x/**'], environments: '*', description },
        check: (res) => expect(res.body).toMatchObject({ id: expect.any(String), project: t.project, subject: { type: 'role', role: 'viewer' }, paths: ['x/**'], environments: '*', description }),
      };
    },
    'DELETE /api/v1/projects/{project}/secret-policies/{id}': async (t, allowed) => {
      const id = allowed ? await newPolicy(t.project!, 'owner', ['doomed/**']) : fixturePolicyIds.get(t.project!)!;
      return {
        params: { id },
        check: async () => {
          const list = await expectStatus(await owner().get(`/api/v1/projects/${t.project}/secret-policies`), 200);
          expect((list.body.items as Array<{ id: string }>).map((p) => p.id)).not.toContain(id);
        },
      };
    },
    'GET /api/v1/projects/{project}/signing-keys': async (t) => ({
      params: {},
      check: (res) => {
        expect((res.body.items as Array<{ kid: string }>).map((k) => k.kid)).toContain(fixtureSigningKids.get(t.project!));
        // Public halves only.
        expect(JSON.stringify(res.body)).not.toMatch(/"d"|private_?key"/i);
      },
    }),
    'POST /api/v1/projects/{project}/signing-keys': async (t, allowed) => {
      if (allowed) await clearNextSigningKey(t.project!);
      return { params: {}, body: { algorithm: 'ES256' }, check: (res) => expect(res.body).toMatchObject({ kid: expect.any(String), algorithm: 'ES256', status: 'next', publicJwk: { crv: 'P-256' } }) };
    },
    'POST /api/v1/projects/{project}/signing-keys/rotate': async (t, allowed) => {
      let current: string | undefined;
      if (allowed) {
        await clearNextSigningKey(t.project!);
        const list = await expectStatus(await owner().get(signingKeysOf(t.project!)), 200);
        current = (list.body.items as Array<{ kid: string; status: string }>).find((k) => k.status === 'current')!.kid;
      }
      return {
        params: {},
        body: {},
        check: (res) => {
          expect(res.body.current).toMatchObject({ status: 'current', algorithm: 'EdDSA' });
          expect(res.body.previous).toMatchObject({ kid: current, status: 'previous' });
        },
      };
    },
    'POST /api/v1/projects/{project}/signing-keys/{kid}/activate': async (t, allowed) => {
      const kid = allowed ? await newNextSigningKey(t.project!) : fixtureSigningKids.get(t.project!)!;
      return { params: { kid }, body: { force: true }, check: (res) => expect(res.body.current).toMatchObject({ kid, status: 'current' }) };
    },
    'POST /api/v1/projects/{project}/signing-keys/{kid}/retire': async (t, allowed) => {
      const kid = allowed ? await newNextSigningKey(t.project!) : fixtureSigningKids.get(t.project!)!;
      return { params: { kid }, body: {}, check: (res) => expect(res.body).toMatchObject({ kid, status: 'retired', privateKeyDestroyed: true }) };
    },
    'GET /api/v1/projects/{project}/signing-key-settings': async (t) => ({
      params: {},
      check: (res) => expect(res.body).toMatchObject({ project: t.project, tokenLifetimeSeconds: expect.any(Number), jwksCacheSeconds: expect.any(Number) }),
    }),
    'PUT /api/v1/projects/{project}/signing-key-settings': async (t) => {
      const tokenLifetimeSeconds = 600 + ++serial;
      return {
        params: {},
        body: { tokenLifetimeSeconds, jwksCacheSeconds: 60 },
        check: (res) => expect(res.body).toMatchObject({ project: t.project, tokenLifetimeSeconds, jwksCacheSeconds: 60, rotationIntervalDays: null, overlapSeconds: tokenLifetimeSeconds + 60 }),
      };
    },
    'GET /api/v1/projects/{project}/environments/{env}/certificates': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ name: string; environment: string }>).map((c) => c.name)).toContain(FIXTURE_CERTIFICATE),
    }),
    'POST /api/v1/projects/{project}/environments/{env}/certificates': async (t) => {
      const name = `issued/${unique('cert')}`;
      return {
        params: {},
        body: { name, commonName: 'matrix.test', dnsNames: ['matrix.test'], lifetimeSeconds: 3600 },
        check: (res) => expect(res.body).toMatchObject({ name, environment: t.env, kind: 'issued', currentVersion: 1, subject: 'CN=matrix.test' }),
      };
    },
    'GET /api/v1/projects/{project}/environments/{env}/certificates/{path}': async (t) => ({
      params: { path: FIXTURE_CERTIFICATE },
      check: (res) => {
        expect(res.body).toMatchObject({ name: FIXTURE_CERTIFICATE, environment: t.env, kind: 'issued', deleted: false });
        expect(JSON.stringify(res.body)).not.toMatch(/PRIVATE KEY|"privateKey"/);
      },
    }),
    'PUT /api/v1/projects/{project}/environments/{env}/certificates/{path}': async (t) => ({
      params: { path: 'tls/uploaded' },
      body: uploadable,
      check: (res) => {
        expect(res.body).toMatchObject({ name: 'tls/uploaded', environment: t.env, kind: 'uploaded', subject: 'CN=upload.matrix.test' });
        expect(res.body.versions).toHaveLength(res.body.currentVersion);
      },
    }),
    'DELETE /api/v1/projects/{project}/environments/{env}/certificates/{path}': async (t, allowed) => {
      // Deleting twice is a 404, so each allowed delete gets a certificate of its own.
      const path = allowed ? `doomed/${unique('cert')}` : FIXTURE_CERTIFICATE;
      if (allowed) await expectStatus(await owner().post(certificatesOf(t), { name: path, commonName: 'doomed.test', dnsNames: ['doomed.test'], lifetimeSeconds: 3600 }), 201);
      return { params: { path }, check: (res) => expect(res.body).toMatchObject({ name: path, deleted: true, versions: [expect.objectContaining({ privateKeyDestroyed: true })] }) };
    },
    'POST /api/v1/projects/{project}/environments/{env}/certificates/{path}': async (t) => ({
      params: { path: FIXTURE_CERTIFICATE },
      action: 'renew',
      check: (res) => {
        expect(res.body).toMatchObject({ name: FIXTURE_CERTIFICATE, environment: t.env, kind: 'issued' });
        expect(res.body.versions[res.body.versions.length - 1]).toMatchObject({ version: res.body.currentVersion, source: 'renewal' });
      },
    }),
    'GET /api/v1/projects/{project}/certificate-authority': async (t) => ({
      params: {},
      check: (res) => {
        expect(res.body).toMatchObject({ project: t.project, keyType: 'ECDSA P-256', certificate: expect.stringContaining('BEGIN CERTIFICATE') });
        expect(JSON.stringify(res.body)).not.toMatch(/PRIVATE KEY|"privateKey"/);
      },
    }),
    'POST /api/v1/projects/{project}/certificate-authority': async (t) => {
      const name = `Matrix CA ${unique('ca')}`;
      return { params: {}, body: { name, lifetimeDays: 30, replace: true }, check: (res) => expect(res.body).toMatchObject({ project: t.project, name, subject: `CN=${name}`, previous: expect.arrayContaining([expect.objectContaining({ name: 'Fixture CA' })]) }) };
    },
    'GET /api/v1/projects/{project}/environments/{env}/certificate-settings': async (t) => ({
      params: {},
      check: (res) => expect(res.body).toMatchObject({ project: t.project, environment: t.env, alertDaysBefore: expect.any(Array) }),
    }),
    'PUT /api/v1/projects/{project}/environments/{env}/certificate-settings': async (t) => {
      // A document no call has sent before, so each allowed call changes something (and is audited once).
      const alertDaysBefore = [100 + ++serial, 1];
      return { params: {}, body: { alertDaysBefore }, check: (res) => expect(res.body).toMatchObject({ project: t.project, environment: t.env, alertDaysBefore }) };
    },
    'GET /api/v1/tokens': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ id: string }>).map((t) => t.id)).toContain(fixtureTokenId),
    }),
    'POST /api/v1/tokens': async () => {
      const name = unique('token');
      return {
        params: {},
        body: { name, role: 'viewer', project: PROJECT_B },
        check: (res) => {
          expect(res.body).toMatchObject({ name, role: 'viewer', project: PROJECT_B, revokedAt: null });
          expect(res.body.token).toMatch(/^fs_admin_/);
        },
      };
    },
    'DELETE /api/v1/tokens/{id}': async (_t, allowed) => {
      let id = fixtureTokenId;
      if (allowed) {
        const created = await expectStatus(await owner().post('/api/v1/tokens', { name: unique('doomed'), role: 'viewer' }), 201);
        id = created.body.id as string;
      }
      return {
        params: { id },
        check: async () => {
          const [row] = await h.db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM api_tokens WHERE id = $1', [id]);
          expect(row.revoked).toBe(true);
        },
      };
    },
    'GET /api/v1/audit': async () => ({
      params: {},
      check: (res, caller) => {
        const items = res.body.items as Array<{ project: string | null }>;
        expect(items.length).toBeGreaterThan(0);
        if (caller.endsWith('A')) expect(new Set(items.map((e) => e.project))).toEqual(new Set([PROJECT_A]));
      },
    }),
    'GET /api/v1/audit/verify': async () => ({ params: {}, check: (res) => expect(res.body).toMatchObject({ ok: true }) }),
    'GET /api/v1/kek': async () => ({
      params: {},
      check: (res) => expect(res.body).toMatchObject({ provider: 'local', currentVersion: 1, versions: [1], minDecryptVersion: 1, pendingRewrap: 0 }),
    }),
    'GET /api/v1/jobs': async () => ({
      params: {},
      check: (res) => expect((res.body.items as Array<{ queue: string }>).find((q) => q.queue === ALERTS_QUEUE)).toEqual({ queue: ALERTS_QUEUE, waiting: 0, delayed: 0, active: 0, failed: 1, completed: 0 }),
    }),
    'GET /api/v1/jobs/failed': async () => ({
      params: {},
      query: `queue=${ALERTS_QUEUE}`,
      check: (res) => {
        expect(res.body).toMatchObject({ total: 1, nextStart: null });
        expect(res.body.items).toEqual([expect.objectContaining({ queue: ALERTS_QUEUE, id: FIXTURE_JOB, state: 'failed', failedReason: 'fixture failure' })]);
      },
    }),
    'POST /api/v1/jobs/failed/{queue}/{id}/retry': async (_t, allowed) => {
      if (!allowed) return { params: { queue: ALERTS_QUEUE, id: FIXTURE_JOB } };
      const id = unique('job');
      await failJob(h, GUARDRAILS_QUEUE, id);
      return {
        params: { queue: GUARDRAILS_QUEUE, id },
        check: async (res) => {
          expect(res.body).toMatchObject({ queue: GUARDRAILS_QUEUE, id, state: 'waiting', attemptsMade: 0, failedReason: null });
          expect(await h.jobQueues![GUARDRAILS_QUEUE].getJobState(id)).toBe('waiting');
        },
      };
    },
    'DELETE /api/v1/jobs/failed/{queue}/{id}': async (_t, allowed) => {
      if (!allowed) return { params: { queue: ALERTS_QUEUE, id: FIXTURE_JOB } };
      const id = unique('job');
      await failJob(h, GUARDRAILS_QUEUE, id);
      return { params: { queue: GUARDRAILS_QUEUE, id }, check: async () => expect(await h.jobQueues![GUARDRAILS_QUEUE].getJob(id)).toBeUndefined() };
    },
  };

  function pathOf(template: string, t: { project?: string; env?: string }, params: Record<string, string>): string {
    return template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name] || (name === 'project' ? t.project : name === 'env' ? t.env : undefined);
      if (!value) throw new Error(`no value for {${name}} in ${template}`);
      // `{path}` is a secret's slash path: …/secrets/payments/stripe/api-key, as clients send it.
      return name === 'path' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
    });
  }

  async function send(method: Method, template: string, target: Target, authorization: string | undefined, allowed: boolean) {
    const t = targetOf(target);
    const route = CALLS[`${method} ${template}`];
    if (!route) throw new Error(`no call defined for ${method} ${template}`);
    const call = await route(t, allowed);
    const server = h.api().raw();
    const path = pathOf(template, t, call.params) + (call.action ? `:${call.action}` : '') + (call.query ? `?${call.query}` : '');
    let req = server[method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](path);
    if (authorization !== undefined) req = req.set('Authorization', authorization);
    for (const [name, value] of Object.entries(call.headers ?? {})) req = req.set(name, value);
    const before = await auditCount();
    const res = await (call.body === undefined ? req : req.send(call.body as object));
    const written = (await auditCount()) - before;
    return { res, call, written };
  }

  beforeAll(async () => {
    h = await startAdmin();
    for (const project of [PROJECT_A, PROJECT_B]) {
      await createProject(h, project);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags`, { key: 'fixture-flag', kind: 'boolean' }), 201);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags`, { key: 'archived-flag', kind: 'boolean' }), 201);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags/archived-flag/archive`), 200);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags`, { key: 'live-flag', kind: 'boolean' }), 201);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags/live-flag/environments/production/toggle`, { on: true }), 200);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags`, { key: 'archived-live-flag', kind: 'boolean' }), 201);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags/archived-live-flag/environments/production/toggle`, { on: true }), 200);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/flags/archived-live-flag/archive`), 200);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/segments`, { key: 'fixture-segment', included: ['user-0'] }), 201);
      await expectStatus(await owner().post(`/api/v1/projects/${project}/configs`, { key: 'fixture.config', schema: { type: 'integer' }, default: 1 }), 201);
      for (const env of ['staging', 'production']) fixtureSdkKeyIds.set(`${project}/${env}`, await newSdkKey(project, env));
      for (const env of ['staging', 'production']) fixtureScheduleIds.set(`${project}/${env}`, await newSchedule(project, env));
      fixtureGrantIds.set(project, await newPolicy(project, 'viewer', ['**']));
      fixturePolicyIds.set(project, await newPolicy(project, 'owner', ['fixture/**']));
      fixtureSigningKids.set(project, (await expectStatus(await owner().post(`${signingKeysOf(project)}/rotate`, { algorithm: 'EdDSA' }), 200)).body.current.kid as string);
      for (const env of ['staging', 'production']) {
        await putSecret(project, env, FIXTURE_SECRET, fixtureSecretValue({ project, env }));
        await putSecret(project, env, ROTATING_SECRET, 'sk_rotating');
      }
      await expectStatus(await owner().post(`/api/v1/projects/${project}/certificate-authority`, { name: 'Fixture CA' }), 201);
      for (const env of ['staging', 'production']) {
        const body = { name: FIXTURE_CERTIFICATE, commonName: 'fixture.test', dnsNames: ['fixture.test'], lifetimeSeconds: 86_400 };
        await expectStatus(await owner().post(certificatesOf({ project, env }), body), 201);
      }
    }
    await failJob(h, ALERTS_QUEUE, FIXTURE_JOB, { reason: 'fixture failure' });
    // A chain and key to upload: issued with a secret path, then read back through the fixture grant.
    const source = { project: PROJECT_A, env: 'development' };
    await expectStatus(await owner().post(certificatesOf(source), { name: 'tls/source', commonName: 'upload.matrix.test', dnsNames: ['upload.matrix.test'], lifetimeSeconds: 86_400, secretPath: 'tls/source' }), 201);
    const published = await expectStatus(await owner().post(`${secretsOf(source)}/tls/source:reveal`, {}), 200);
    const { certificate, privateKey } = JSON.parse(published.body.value as string) as { certificate: string; privateKey: string };
    uploadable = { certificate, privateKey };
    const bearer = (secret: string) => `Bearer ${secret}`;
    secrets.owner = bearer(h.ownerToken);
    secrets.viewer = bearer(await createToken(h, 'viewer'));
    secrets.editor = bearer(await createToken(h, 'editor'));
    secrets.editorA = bearer(await createToken(h, 'editor', PROJECT_A));
    secrets.ownerA = bearer(await createToken(h, 'owner', PROJECT_A));

    const fixtureToken = await expectStatus(await owner().post('/api/v1/tokens', { name: 'fixture-token', role: 'viewer' }), 201);
    fixtureTokenId = fixtureToken.body.id as string;
    const revoked = await expectStatus(await owner().post('/api/v1/tokens', { name: 'revoked', role: 'owner' }), 201);
    await expectStatus(await owner().delete(`/api/v1/tokens/${revoked.body.id as string}`), 204);
    const server = await expectStatus(await owner().post(`/api/v1/projects/${PROJECT_A}/environments/staging/sdk-keys`, { kind: 'server', name: 'as-admin' }), 201);
    const client = await expectStatus(await owner().post(`/api/v1/projects/${PROJECT_A}/environments/staging/sdk-keys`, { kind: 'client', name: 'as-admin' }), 201);

    secrets['no Authorization header'] = undefined;
    secrets['malformed header (Basic)'] = 'Basic abc';
    secrets['unknown token'] = bearer('fs_admin_doesnotexist');
    secrets['revoked token'] = bearer(revoked.body.token as string);
    secrets['server SDK key'] = bearer(server.body.key as string);
    secrets['client SDK key'] = bearer(client.body.key as string);
    expect(server.body.key).toMatch(/^fs_server_/);
    expect(client.body.key).toMatch(/^fs_client_/);
    // Dozens of fixtures through the real API: more than Jest's 5 s default on a busy 2-core machine.
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('has a row for every (method, path) of the OpenAPI document under /api/v1, and no row for anything else', async () => {
    const doc = await h.api().get('/docs/openapi.json');
    expect(doc.status).toBe(200);
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      if (!path.startsWith('/api/v1/')) continue;
      for (const method of Object.keys(item)) {
        if (['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(method)) documented.add(`${method.toUpperCase()} ${path}`);
      }
    }
    const inMatrix = new Set(MATRIX.map(([method, path]) => `${method} ${path}`));
    expect(documented.size).toBeGreaterThanOrEqual(30);
    expect([...documented].filter((r) => !inMatrix.has(r))).toEqual([]);
    expect([...inMatrix].filter((r) => !documented.has(r))).toEqual([]);
    expect([...inMatrix].filter((r) => !CALLS[r])).toEqual([]);
  });

  describe.each(UNAUTHENTICATED_CALLERS)('%s', (caller) => {
    it.each(MATRIX)('%s %s (%s) -> 401 UNAUTHENTICATED', async (method, path, target) => {
      const { res, written } = await send(method, path, target, secrets[caller], false);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.any(String) });
      expect(written).toBe(0);
    });
  });

  describe.each(AUTHED_CALLERS.map((caller, column) => [caller, column] as const))('%s', (caller, column) => {
    const rows = MATRIX.map((row) => [row[0], row[1], row[2], row[3 + column]] as const);
    it.each(rows)('%s %s (%s) -> %s', async (method, path, target, status) => {
      const allowed = status !== 403;
      const { res, call, written } = await send(method, path, target, secrets[caller], allowed);
      expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code: allowed ? undefined : 'FORBIDDEN' });
      if (allowed) {
        await call.check?.(res, caller);
        expect(written).toBe(method === 'GET' ? 0 : 1);
      } else {
        expect(res.body.error.message).toEqual(expect.any(String));
        expect(written).toBe(0);
      }
    });
  });
});
