/**
 * T1 class groups: which boxes may join which tracks. A group is a number:
 * a label in a configured group gets −1 − (the group's index); any other box
 * (and every box under 'none', the seed's same-class rule) gets its classId,
 * so it is its own group.
 */
import { type ClassGroups, DEFAULT_CLASS_GROUPS } from './options.js';

export type GroupOf = (box: { classId: number; label: string }) => number;

export function createGroupOf(classGroups: ClassGroups): GroupOf {
  if (classGroups === 'none') return (box) => box.classId;
  const groups = classGroups === 'default' ? DEFAULT_CLASS_GROUPS : classGroups;
  const byLabel = new Map<string, number>();
  groups.forEach((labels, k) => {
    for (const label of labels) byLabel.set(label, -1 - k);
  });
  return (box) => byLabel.get(box.label) ?? box.classId;
}
