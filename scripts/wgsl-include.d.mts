export declare const expandIncludes: (text: string, read: (path: string) => string) => string;
