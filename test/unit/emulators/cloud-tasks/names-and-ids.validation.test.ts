import { codeThrown } from './code-thrown';
import { createTaskIdGenerator } from '../../../../emulators/cloud-tasks/ids';
import {
  checkResourceProject,
  parseQueueName,
  parseTaskName,
} from '../../../../emulators/cloud-tasks/names';

const queue = 'projects/p/locations/l/queues/q';

describe('parseTaskName', () => {
  it('accepts ids of letters, digits, _ and - up to 500 characters', () => {
    expect(parseTaskName(`${queue}/tasks/a_B-9`)).toEqual({ queue, id: 'a_B-9' });
    expect(parseTaskName(`${queue}/tasks/${'x'.repeat(500)}`).id).toHaveLength(500);
  });

  it.each(['has.dot', 'sp ace', '', 'x'.repeat(501)])('refuses the id %j', (id) => {
    expect(codeThrown(() => parseTaskName(`${queue}/tasks/${id}`))).toBe('INVALID_ARGUMENT');
  });

  it('refuses names that are not task names', () => {
    expect(codeThrown(() => parseTaskName(queue))).toBe('INVALID_ARGUMENT');
    expect(() => parseQueueName('projects/p/locations/l/queues/under_score')).toThrow();
  });
});

describe('checkResourceProject', () => {
  it.each(['not-a-valid-parent', 'locations/l', 'project/p'])(
    'refuses %j as a project the caller may not use',
    (resource) => {
      expect(codeThrown(() => checkResourceProject(resource))).toBe('PERMISSION_DENIED');
    },
  );

  it.each([queue, 'projects/p', '', undefined])(
    'leaves %j to the method (under projects/, or empty)',
    (resource) => {
      expect(codeThrown(() => checkResourceProject(resource))).toBe('none');
    },
  );
});

describe('createTaskIdGenerator', () => {
  it('repeats its sequence for a seed and makes 19-digit ids', () => {
    const a = createTaskIdGenerator(1);
    const b = createTaskIdGenerator(1);
    const ids = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(ids);
    expect(ids.every((id) => /^[1-9]\d{18}$/.test(id))).toBe(true);
    expect(createTaskIdGenerator()()).toMatch(/^[1-9]\d{18}$/);
  });
});
